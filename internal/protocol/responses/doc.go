// Package responses translates the OpenAI Responses API (POST /v1/responses)
// to and from the provider-neutral types of package llm, in both roles: as
// the protocol a client speaks to the gateway (ParseRequest, BuildResponse,
// Encoder, ErrorBody) and as the protocol the gateway speaks to an upstream
// (BuildRequest, ParseResponse, Decoder). The functions are pure; stream
// state lives in one Encoder or Decoder per request.
//
// # Statelessness
//
// The gateway stores no responses. ParseRequest refuses previous_response_id,
// conversation, background: true and an explicit store: true with a message
// saying what to send instead; responses always say "store": false.
// BuildRequest always sends "store": false and asks for
// "reasoning.encrypted_content" whenever the request carries signed
// reasoning or asks for reasoning, so that reasoning can come back on the
// next turn as a reasoning item instead of a stored reference. A request
// forwarded unchanged to a Responses upstream must go through NoStore: the
// API stores responses unless told otherwise.
//
// # Client requests (ParseRequest)
//
//   - instructions, then system and developer messages in order, become
//     Request.System. Empty text parts are dropped.
//   - Adjacent items of one role merge into one turn: assistant messages,
//     function_call and reasoning items form one assistant turn;
//     function_call_output items and user messages one user turn.
//   - function_call call_id is split with llm.UnpackCallID (ID and
//     Signature); function_call_output gets the Name of the matching call.
//   - reasoning items become thinking: the summary texts joined by a blank
//     line (else the reasoning_text content), encrypted_content as the
//     Signature.
//   - Refused with KindInvalid: item types other than message,
//     function_call, function_call_output and reasoning; tool types other
//     than function; file_id images and files; file_url files; audio.
//   - strict omitted on a function tool reads as false (the Responses API
//     would default it to true, but other upstreams do not know strict
//     schemas, so the lenient reading is the safe one).
//   - reasoning.effort "none" also sets Reasoning.Disabled; Summary is set
//     when reasoning.summary is given and not "none". safety_identifier wins
//     over the deprecated user.
//
// # Client answers (BuildResponse, Encoder)
//
// Item ids derive from the response id (meta.ID, "resp_" stripped):
// "msg_<s>_<n>", "rs_<s>_<n>", "fc_<s>_<n>" with n the output index. Tool
// call ids are llm.PackCallID(ID, Signature), so a Gemini thought signature
// survives the client's round trip; an upstream call without an id gets
// "call_<s>_<n>". Thinking becomes a reasoning item with one summary_text
// part and the Signature as encrypted_content; redacted thinking is dropped.
// StopLength and StopFilter make the response "incomplete" with reason
// max_output_tokens or content_filter; anything else is "completed".
// Arguments of a call that has none are "{}".
//
// The stream starts with response.created and response.in_progress at the
// first output (or in Finish/Fail), gives every item its added, delta and
// done events, keeps consecutive function calls open together (arguments of
// parallel calls may interleave), and ends with response.completed or
// response.incomplete carrying all items and the last usage (null when none
// came). A failure is `event: error` with a flat {type, code, message,
// param, sequence_number} payload, never response.failed. completed_at is
// meta.Created in BuildResponse and the encoder's clock in streams.
//
// Usage is written as the Responses API counts it: input_tokens includes
// cached and cache-write tokens, output_tokens includes reasoning tokens.
//
// # Upstream requests (BuildRequest)
//
//   - System parts are joined by blank lines into "instructions".
//   - A turn's parts keep their order: runs of text, image and file parts
//     become message items; tool calls become function_call items
//     (arguments "" → "{}"), tool results function_call_output items whose
//     output is the result text, or parts when it holds images (IsError has
//     no field and is dropped). Thinking with a Signature becomes a reasoning
//     item without an id (ids refer to stored items); thinking without one
//     came from another provider and is dropped, as is redacted thinking.
//   - Function tools are flat and always carry "strict", because the API
//     defaults it to true. tool_choice auto is omitted.
//   - Reasoning: Effort as given, else llm.BudgetEffort(Budget); Disabled
//     without an effort sends no effort (older models refuse "none");
//     Summary → summary "auto".
//   - User → safety_identifier. Stop sequences cannot be expressed and are
//     refused (KindInvalid, Param "stop"); top_k, seed and the penalties
//     have no Responses field and are dropped.
//
// # Upstream answers (ParseResponse, Decoder)
//
// Usage is split into disjoint llm.Usage kinds (input minus cached and
// cache-write, output minus reasoning). Status incomplete maps to
// StopLength or StopFilter, function calls to StopToolUse, else StopEnd.
// The decoder numbers tool calls 0, 1, ... in the order their items are
// added, turns the reasoning item's encrypted_content into EventSignature,
// separates summary parts with a blank line, and reports an upstream error
// or response.failed as EventError; only caller-fault errors keep the
// upstream's message.
package responses
