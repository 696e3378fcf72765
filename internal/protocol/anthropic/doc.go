// Package anthropic translates the Anthropic Messages API to and from the
// provider-neutral types of package llm, both as the protocol a client
// speaks to the gateway (ParseRequest, BuildResponse, Encoder, ErrorBody)
// and as the protocol the gateway speaks to an upstream (BuildRequest,
// ParseResponse, Decoder). The functions are pure; an Encoder or a Decoder
// holds the state of one stream. It is used only when the client's
// protocol and the upstream's differ: Anthropic to Anthropic is forwarded
// as bytes.
//
// # Client side
//
// ParseRequest reads every field that has a meaning elsewhere and refuses,
// naming the field in Anthropic's dotted form ("messages.0.content.1"),
// what no other provider can do: server tools, server-tool and search
// result blocks, Files API sources. max_tokens is required and must be at
// least 1 (0, "cache pre-warm only", has no meaning elsewhere).
// cache_control, citations, service_tier and the like are ignored.
//   - A tool_use id can carry a Gemini thoughtSignature packed in by an
//     earlier answer (llm.PackCallID); it is unpacked into Part.Signature.
//     tool_result parts get the Name of their call.
//   - document: base64 and URL sources become file parts (URL ones are
//     PDFs), text sources text parts, content sources their text and images.
//   - thinking enabled{budget_tokens} → Reasoning.Budget; adaptive →
//     Reasoning.Effort (output_config.effort, else "medium"); disabled →
//     Disabled; output_config.effort alone → Effort. Summary is true unless
//     thinking.display is "omitted".
//   - output_config.format (and the beta's top-level output_format) →
//     Format json_schema, named "response" for upstreams that require a
//     name, not strict (OpenAI's strict mode refuses schemas that
//     Anthropic accepts).
//
// BuildResponse and the Encoder present the gateway's id and the client's
// model. Usage goes out in Anthropic's shape: input_tokens is the uncached
// input only, cache_read_input_tokens and cache_creation_input_tokens the
// cache, output_tokens includes reasoning, which output_tokens_details
// .thinking_tokens breaks out when there is any. A turn with tool calls
// that ended naturally (Gemini's STOP) is a tool_use stop. Tool-call ids
// carry the call's Gemini signature (llm.PackCallID); a call without an id
// gets "toolu_<answer id>_<n>". Thinking without a signature (another
// provider's) is still shown as a thinking block; arguments that are not
// JSON (cut off by max_tokens) become input {}.
//
// The Encoder writes message_start on the first event (with the input
// figures of a usage that comes first, else zeros), one block per run of
// text or thinking and per tool call, a signature_delta that closes its
// thinking block, and at Finish one message_delta with the stop reason and
// the last usage, then message_stop. Fail, and an EventError, write
// "event: error" and end the stream. WithRequestID puts the request id in
// that error's message.
//
// # Upstream side
//
// BuildRequest makes a request that the Messages API accepts:
//   - max_tokens defaults to 4096. Reasoning becomes thinking enabled with
//     Budget (at least 1024), or llm.EffortBudget(Effort), or the medium
//     budget for Gemini's dynamic -1; max_tokens is raised to budget+4096
//     when it does not exceed the budget, never lowered. Disabled and
//     effort "none" send no thinking.
//   - Thinking is left off, rather than sending a request the API refuses,
//     when tool_choice forces a tool (any or tool) and when the last
//     assistant turn called tools without starting with a signed thinking
//     block (its thinking was lost on the way through another protocol).
//   - With thinking on, temperature, top_p and top_k are not sent (the API
//     requires the defaults). Otherwise temperature is clamped to 0–1 and
//     top_p is dropped next to a temperature (current models refuse both).
//     Stop sequences without a visible character are dropped (refused by
//     the API). seed and the penalties have no equivalent and are dropped.
//   - System texts: one string when there is one, else text blocks.
//     JSON mode, which the API lacks, appends the system text "Respond only
//     with a valid JSON object."; json_schema goes to output_config.format.
//   - Messages: empty text is dropped, turns of one role are merged, tool
//     results lead their user turn, a conversation starting with the
//     assistant gets a "(conversation continues)" user turn first. Images
//     must be JPEG, PNG, GIF or WebP (data URLs are unpacked, https URLs
//     sent as URL sources); files must be PDF or plain text. Tool-call
//     arguments must be a JSON object ("" is {}). Tool-call ids outside
//     ^[a-zA-Z0-9_-]+$ are rewritten the same way for a call and its result
//     (bad characters to "_" plus a hash); empty ids are paired by order.
//     Only signed thinking goes back; a Gemini signature on a tool call is
//     dropped.
//   - Tools: input_schema is the object schema {"type":"object",
//     "properties":{}} when absent; "type":"object" is added when missing,
//     every other key is kept; a non-object schema is refused. tool_choice
//     is sent only with tools; parallel_tool_calls false becomes
//     disable_parallel_tool_use (not with none).
//
// ParseResponse and the Decoder split usage into the disjoint llm figures
// (Output = output_tokens − thinking_tokens). The Decoder numbers tool
// calls 0, 1, ... in the order they start, whatever their block index,
// skips server-tool blocks and pings, and treats message_delta usage as
// cumulative: the figures it carries replace those of message_start.
package anthropic
