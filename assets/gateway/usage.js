// infernus: the model and token counts of each model request, for the gateway's audit log.
// An njs body filter (nginx's own JavaScript module): it reads the response as it passes and sets
// $infernus_model, $infernus_prompt_tokens and $infernus_completion_tokens, which the audit line
// logs. Of the request it looks only for stream_options.include_usage, and nothing of it is kept,
// so no prompt can reach the log. njs gives every request its own VM: the state below is per request.
//
// vLLM runs with --enable-force-include-usage, so every stream ends with a usage chunk (no choices).
// A client that did not ask for usage never sees it, as OpenAI's API has it: a client that reads
// choices[0] of every chunk would fail on it. Every other byte passes unchanged, each event as
// soon as it is whole.
//
// What vLLM writes, and where (vllm/entrypoints/openai/*/protocol.py, serving.py):
// - chat, completions: {"id","object","created","model","choices",…,"usage":{"prompt_tokens",
//   "total_tokens","completion_tokens"…}}; a stream ends with a chunk that has "usage" (always,
//   with --enable-force-include-usage; on every chunk with continuous usage stats: the last counts).
// - embeddings, score: "usage" last, with "prompt_tokens" (completion_tokens 0).
// - rerank: {"id","model","usage":{"prompt_tokens","total_tokens"},"results"} (usage before results).
// - responses: "usage":{"input_tokens","output_tokens",…} in the response, and in a stream's
//   response.completed event, the last event.

// The start of a response, where "model" is (a Responses stream repeats the instructions before it).
const HEAD_BYTES = 65536;
// The end, where the last "usage" is (after it: a few short fields, the stream's [DONE]).
const TAIL_BYTES = 16384;

let head = "";
let tail = "";
let seen = 0;
// Whether the usage chunk goes to the client (null until the first buffer), and an event not yet whole.
let passUsage = null;
let pending = null;

// The last `"key":{` that is JSON's own, not text inside a string (there its quote is escaped).
function lastObject(text, key) {
  const marker = '"' + key + '":{';
  for (let at = text.lastIndexOf(marker); at >= 0; at = text.lastIndexOf(marker, at - 1)) {
    if (at > 0 && text[at - 1] === "\\") continue;
    const start = at + marker.length - 1;
    let depth = 0;
    for (let i = start; i < text.length; i++) {
      if (text[i] === "{") depth++;
      else if (text[i] === "}" && --depth === 0) {
        try {
          return JSON.parse(text.slice(start, i + 1));
        } catch (e) {
          break;
        }
      }
    }
  }
  return null;
}

function firstModel(text) {
  const found = /(^|[^\\])"model":"((?:[^"\\]|\\.){1,512})"/.exec(text);
  if (!found) return "";
  try {
    return JSON.parse('"' + found[2] + '"');
  } catch (e) {
    return "";
  }
}

function count(value) {
  return typeof value === "number" && value >= 0 && Math.floor(value) === value ? String(value) : "null";
}

/** What the audit line gets from a response's text: its model and its token counts, as vLLM reported them. */
function usageOf(start, end) {
  const usage = lastObject(end, "usage") || lastObject(start, "usage");
  const model = firstModel(start) || firstModel(end);
  if (!usage) return { model: model, prompt: "null", completion: "null" };
  const prompt = usage.prompt_tokens !== undefined ? usage.prompt_tokens : usage.input_tokens;
  const completion = usage.completion_tokens !== undefined ? usage.completion_tokens : usage.output_tokens;
  return { model: model, prompt: count(prompt), completion: count(completion) };
}

/** Whether the client asked for usage in its stream: JSON's own key, not text inside a prompt. */
function askedForUsage(request) {
  return /(^|[^\\])"include_usage"\s*:\s*true/.test(request);
}

/** An SSE event that is only vLLM's forced usage chunk: no choices, a usage. */
function usageOnly(event) {
  const text = event.toString();
  if (text.length > 4096 || text.indexOf('"choices":[]') < 0 || text.indexOf("data: {") !== 0) return false;
  try {
    const chunk = JSON.parse(text.slice("data: ".length));
    return Array.isArray(chunk.choices) && chunk.choices.length === 0 && chunk.usage !== undefined;
  } catch (e) {
    return false;
  }
}

/** Passes DATA on whole events at a time, without the usage chunk. */
function withoutUsageChunk(r, data, flags) {
  pending = pending ? Buffer.concat([pending, data]) : data;
  const out = [];
  for (let end = pending.indexOf("\n\n"); end >= 0; end = pending.indexOf("\n\n")) {
    const event = pending.slice(0, end + 2);
    pending = pending.slice(end + 2);
    if (!usageOnly(event)) out.push(event);
  }
  if (flags.last) {
    out.push(pending);
    pending = null;
  }
  if (out.length > 0) r.sendBuffer(Buffer.concat(out), flags);
}

function filter(r, data, flags) {
  if (passUsage === null) {
    // The body is in memory (client_body_buffer_size is the largest body allowed); when it is not, nothing is taken out.
    const request = r.requestText;
    const stream = String(r.headersOut["Content-Type"] || "").indexOf("text/event-stream") === 0;
    passUsage = !stream || request === undefined || askedForUsage(request);
  }
  if (passUsage) r.sendBuffer(data, flags);
  else withoutUsageChunk(r, data, flags);
  const text = data.toString();
  if (seen < HEAD_BYTES) head += text.slice(0, HEAD_BYTES - seen);
  seen += text.length;
  tail = (tail + text).slice(-TAIL_BYTES);
  if (!flags.last) return;
  const found = usageOf(head, tail);
  r.variables.infernus_model = found.model;
  r.variables.infernus_prompt_tokens = found.prompt;
  r.variables.infernus_completion_tokens = found.completion;
}

export default { filter, usageOf, askedForUsage, usageOnly };
