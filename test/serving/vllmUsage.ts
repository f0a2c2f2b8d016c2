/** Token usage as the labs' stand-ins for vLLM report it. Light on imports: the labs run them as processes. */

export interface Usage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
}

/** A prompt's token count as the stand-in counts it: a token per four bytes of the request, as a rough tokenizer would. */
export function promptTokens(body: string): number {
  return Math.max(1, Math.ceil(body.length / 4));
}

/**
 * Usage in a stream, as vLLM's should_include_usage decides it (vllm/entrypoints/utils.py): with
 * --enable-force-include-usage, which the estate's vLLM units pass, always; else when the client asks.
 */
export function streamsUsage(request: { stream_options?: { include_usage?: boolean } }, force: boolean): boolean {
  return force || request.stream_options?.include_usage === true;
}
