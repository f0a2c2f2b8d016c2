/**
 * The Responses API as vLLM answers it, for the labs' stand-ins, as read from upstream main just
 * after v0.21.0 (fork local-inference-lab/vllm at 9aaf83ef5): entrypoints/openai/responses/
 * serving.py (responses_stream_generator, responses_full_generator), streaming_events.py and
 * protocol.py (ResponseUsage). A stream is `event: TYPE` and `data: {type, sequence_number, …}`
 * from response.created to response.completed, with no [DONE] (api_router.py); its message is
 * opened (output_item.added, content_part.added) before its deltas and closed after them; usage
 * comes only with the completed response, as input_tokens and output_tokens. Light on imports:
 * the labs run the stand-ins as processes.
 */
import type * as http from "node:http";
import type { Usage } from "./vllmUsage";

const ITEM = "msg_x";

/** The response object: in progress with no output and no usage, or completed with both. */
export function responseObject(model: string, text: string, usage: Usage, done: boolean) {
  const part = { type: "output_text", text, annotations: [], logprobs: [] };
  return {
    id: "resp_x",
    object: "response",
    created_at: 1,
    model,
    status: done ? "completed" : "in_progress",
    output: done ? [{ id: ITEM, type: "message", role: "assistant", status: "completed", content: [part] }] : [],
    usage: done
      ? { input_tokens: usage.prompt_tokens, input_tokens_details: { cached_tokens: 0 }, output_tokens: usage.completion_tokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: usage.total_tokens }
      : null,
  };
}

/** One streamed answer: open() before the first delta, close() after the last. */
export class ResponsesStream {
  private sequence = 0;
  private readonly text: string[] = [];

  constructor(
    private readonly res: http.ServerResponse,
    private readonly model: string,
    private readonly usage: Usage,
  ) {}

  private event(type: string, fields: object): void {
    this.res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: this.sequence++, ...fields })}\n\n`);
  }

  open(): void {
    this.res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    const response = responseObject(this.model, "", this.usage, false);
    this.event("response.created", { response });
    this.event("response.in_progress", { response });
    this.event("response.output_item.added", { output_index: 0, item: { id: ITEM, type: "message", role: "assistant", status: "in_progress", content: [] } });
    this.event("response.content_part.added", { item_id: ITEM, output_index: 0, content_index: 0, part: { type: "output_text", text: "", annotations: [], logprobs: [] } });
  }

  delta(text: string): void {
    this.text.push(text);
    this.event("response.output_text.delta", { item_id: ITEM, output_index: 0, content_index: 0, delta: text, logprobs: [] });
  }

  close(): void {
    const text = this.text.join("");
    const done = responseObject(this.model, text, this.usage, true);
    this.event("response.output_text.done", { item_id: ITEM, output_index: 0, content_index: 0, text, logprobs: [] });
    this.event("response.content_part.done", { item_id: ITEM, output_index: 0, content_index: 0, part: done.output[0].content[0] });
    this.event("response.output_item.done", { output_index: 0, item: done.output[0] });
    this.event("response.completed", { response: done });
    this.res.end();
  }
}
