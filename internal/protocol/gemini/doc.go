// Package gemini translates Google's Gemini generateContent protocol
// (Developer API, v1beta) to and from the provider-neutral types of package
// llm: client requests and answers (ParseRequest, BuildResponse, Encoder,
// ErrorBody) and upstream requests and answers (BuildRequest,
// ParseResponse, Decoder). The functions are pure; the relay does the I/O.
//
// Mapping choices:
//
//   - The model and streaming are in the URL, not the body: ParseRequest
//     leaves Request.Model and Request.Stream to the relay (see ParsePath),
//     and BuildRequest writes neither.
//   - Field names are read in lowerCamelCase and in proto snake_case, which
//     the REST API also accepts (Tokenhot's docs show system_instruction).
//   - Consecutive contents of one role are one turn, and in the model's turns
//     adjacent text parts and thought parts (until a signature closes the
//     thought) are joined: a streaming client's history holds one content per
//     chunk it received. Contents without parts are skipped. Going upstream,
//     same-role turns are merged too, and a history that opens with the
//     model's turn gets a "..." user turn first.
//   - Function calls without an id (Gemini 2.x sends none) get
//     "call_<content>_<part>" in requests, stable across turns, and a random
//     "call_<24 hex>" in answers. A function response without an id is paired
//     with the earliest unanswered call of its name. Answers to clients carry
//     the id in functionCall.id so that it comes back.
//   - Function responses: {"result"|"output"|"content": <string>} becomes that
//     string, {"error": ...} an error result, anything else its JSON. Going
//     upstream, a result that is a JSON object is sent as is, other text as
//     {"result": text}, an error as {"error": text}; images of a result follow
//     the functionResponse as inlineData parts of the same turn.
//   - Thought signatures: a thought part's signature is the thinking part's
//     Signature and a function call's is the call's. Going upstream, thinking
//     is dropped (only Gemini's own signatures mean anything to it, and they
//     ride on function calls) and a call without a signature gets Google's
//     documented "skip_thought_signature_validator", which Gemini 3 requires.
//     A signature that is not standard base64 is never written to a client:
//     thoughtSignature is a bytes field and go-genai would fail to decode it.
//   - `parameters` and `responseSchema` (Google's OpenAPI subset) are turned
//     into JSON Schema by lower-casing the type names; parametersJsonSchema
//     and responseJsonSchema pass verbatim. A schema makes the format
//     json_schema (named "response", as OpenAI requires a name).
//   - What only Google's servers can do is refused with KindInvalid rather
//     than silently dropped: built-in tools (googleSearch, codeExecution,
//     ...), cachedContent, responseMimeType text/x.enum, non-text response
//     modalities, candidateCount > 1. Safety settings are dropped.
//   - thinkingBudget 0 disables reasoning, other budgets (-1 = dynamic) are
//     kept; thinkingLevel becomes the lower-case effort. Going upstream an
//     explicit budget wins over an effort, which llm.EffortBudget converts.
//   - Stops: Gemini has no tool-use reason, so STOP with a function call is
//     StopToolUse; the safety family (and IMAGE_*) is StopFilter; malformed
//     or unexpected calls end normally. A refused prompt (no candidate,
//     promptFeedback.blockReason) is StopFilter.
//   - Usage: promptTokenCount includes cached tokens, so Input = prompt −
//     cached + toolUsePromptTokenCount; candidates are Output and thoughts
//     Reasoning. Clients get promptTokenCount = every input token.
//   - Streams: frames are only "data: <json>\n\n". Function calls are held
//     until complete and written together (as Gemini sends parallel calls);
//     each thinking delta is held one event so that a signature can ride on
//     it (go-genai's chat drops parts without data from its history); the
//     final frame holds the finish reason and the last usage. Errors are
//     {"error":{code,message,status}} frames, with the gateway's code in a
//     google.rpc.ErrorInfo and a retry delay in a google.rpc.RetryInfo. A 529
//     passed through from Anthropic becomes 503 UNAVAILABLE.
package gemini
