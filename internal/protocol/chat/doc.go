// Package chat translates the OpenAI Chat Completions protocol (also spoken
// by Ark, DeepSeek, xAI, vLLM and other OpenAI-compatible servers) to and
// from the provider-neutral types of package llm, in both roles: a client
// speaking Chat to the gateway (ParseRequest, BuildResponse, Encoder,
// ErrorBody/WriteError/StreamErrorEvent) and the gateway speaking Chat to
// an upstream (BuildRequest, ParseResponse, Decoder). The translators are
// pure; stream state lives in one Encoder or Decoder per request.
//
// Mapping choices, client side:
//
//   - Every system and developer message, wherever it stands, becomes
//     Request.System text parts in order; empty texts are dropped.
//   - Consecutive tool (and deprecated function) messages become one user
//     message of tool results; a system message between them does not
//     split the run. A result's Name comes from the matching earlier call.
//     The deprecated function_call has no id: it gets "call_<message
//     index>", and the function message's result is paired by name.
//   - Tool call ids are unpacked with llm.UnpackCallID, so a Gemini
//     signature the gateway packed into an id comes back as Signature.
//   - An assistant's reasoning is read from thinking_blocks (LiteLLM's
//     convention, with signatures and redacted blocks) when present, else
//     from reasoning_content. The gateway's own streams carry the text in
//     reasoning_content and only the signature in thinking_blocks; when a
//     client sends back one empty-text block beside reasoning_content, the
//     text is put into the block so the signature still matches.
//   - An assistant message with nothing in it is dropped; user text is kept
//     as sent. A request left with no message and no system prompt is an
//     error.
//   - reasoning_effort sets Reasoning.Effort; "none" also sets Disabled,
//     any other level sets Summary, because Chat has a field for the
//     reasoning text. top_k, not an OpenAI field, is read when present.
//   - Refused with KindInvalid: n > 1, input_audio, file_id, non-function
//     tools and tool calls, tool_choice allowed_tools, image URLs that are
//     neither http(s) nor base64 data URLs.
//
// Upstream side (BuildRequest, with a Dialect for max_tokens):
//
//   - One system message (the parts joined by a blank line). Tool results
//     become one tool message each, before the rest of their user turn;
//     tool messages carry text only, so images and IsError in results are
//     dropped. Thinking parts are dropped from history (OpenAI rejects them,
//     DeepSeek requires their absence), and an assistant turn left empty is
//     omitted. Tool call ids go up unpacked.
//   - tool_choice and parallel_tool_calls are sent only alongside tools,
//     as OpenAI rejects them otherwise; auto is the default and not sent.
//   - A reasoning budget becomes llm.BudgetEffort; Disabled sends nothing.
//   - A streamed request always asks for include_usage, whatever the client
//     asked: the gateway meters every stream.
//
// Answers and streams:
//
//   - finish_reason "stop" with tool calls is StopToolUse, a refusal is
//     StopFilter. Going out, StopToolUse, or an end with tool calls, is
//     "tool_calls"; length and content_filter are kept even with calls, as
//     OpenAI does for a cut-off call; stop_sequence and pause are "stop".
//   - Usage is split into llm.Usage's disjoint kinds on the way in and
//     summed back on the way out (prompt = input + cached + cache write,
//     completion = output + reasoning).
//   - The Encoder writes a role chunk first, one chunk per event, the id and
//     name of a call on its first fragment only, dense call indexes, one
//     finish chunk, then usage once on a choices:[] chunk (only when the
//     client asked) and [DONE]. A failure writes the error payload and no
//     [DONE]. Signatures and redacted thinking go out in thinking_blocks.
//   - The Decoder starts a new call for a new upstream index, or for another
//     id or name under a known index (servers that send every call as index
//     0), and makes up ids ("call_<n>") for servers that send none. Done is
//     [DONE] only; a finish_reason is not the end, as usage follows it.
package chat
