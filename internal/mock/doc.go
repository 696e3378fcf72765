// Package mock is Tokenhot's built-in mock upstream: one http.Handler that
// speaks OpenAI, Volcengine Ark, Anthropic and Gemini closely enough for the
// official SDKs to accept every response, answers deterministically, and
// injects faults on demand. Tests, `tokenhot demo` and the load tool run the
// gateway against it instead of real providers.
//
//	srv := mock.New(mock.Options{Chunks: 8})
//	ts := httptest.NewServer(srv)
//	srv.SetFault("sk-flaky", mock.Fault{Status: 503, Times: 2})
//
// # Routes
//
// OpenAI (Authorization: Bearer): POST /v1/chat/completions, POST
// /v1/responses, POST /v1/embeddings, POST /v1/images/generations, POST
// /v1/images/edits, POST /v1/videos, GET and DELETE /v1/videos/{id}, GET
// /v1/videos/{id}/content, GET /v1/models, GET /v1/models/{id}. Ark (Bearer):
// POST /api/v3/chat/completions, POST /api/v3/images/generations, POST
// /api/v3/contents/generations/tasks, GET and DELETE
// /api/v3/contents/generations/tasks/{id}. Anthropic (x-api-key or
// Bearer; anthropic-version required): POST /v1/messages, POST
// /v1/messages/count_tokens, GET /v1/models[/{id}] (told from OpenAI's by the
// anthropic-version or x-api-key header). Gemini (x-goog-api-key, ?key= or
// Bearer): POST /v1beta/models/{model}:generateContent,
// :streamGenerateContent (SSE with alt=sse, else a JSON array), :countTokens,
// GET /v1beta/models[/{model}]. Any model name is accepted and echoed.
//
// Every response carries a request id (request-id for Anthropic, x-request-id
// for the others) and application/json or text/event-stream with
// Cache-Control: no-cache; every SSE event ends with a blank line and is
// flushed. Errors use each protocol's envelope: a missing or unknown key is a
// 401, a body that is not a JSON object (or misses a required field) a 400.
//
// # Replies
//
// A text reply is Options.Chunks words from a fixed word list, the same for
// every request; streamed, each content event carries one word, and each
// word is one token. A max_tokens / max_completion_tokens / max_output_tokens
// / maxOutputTokens below Chunks shortens the reply to that many words and
// ends it with the protocol's length reason.
//
// A reply is instead one tool call to the first function tool (or the one a
// named tool choice asks for) when the request has tools and its tool choice
// requires one, or when the last user message contains [[mock:tool]] or the
// word "weather" and the conversation does not already end with a tool
// result. Its arguments are a JSON object of the schema's required
// properties: strings "mock", numbers 1, booleans true, arrays [], objects {},
// or the first enum value. Streamed, the arguments come in two fragments.
//
// Reasoning: Ark replies start with reasoning_content unless thinking.type is
// "disabled"; Anthropic with a thinking block (thinking_delta, then
// signature_delta) when thinking is enabled or adaptive; Gemini reports
// thoughtsTokenCount when a thinkingConfig does not set a zero budget, and a
// thought part when includeThoughts is set. OpenAI chat and Responses count
// reasoning tokens when reasoning effort is set and not "none", without text.
// The reasoning is always the same fixed sentence of 15 words.
//
// # Usage
//
// Usage is a pure function of the request, identical in the streamed and
// non-streamed forms of the same request:
//
//	prompt     = W + M
//	  W: whitespace-separated words (as strings.Fields) in the system prompt /
//	     instructions / systemInstruction, every text part of every message,
//	     every tool result, and every string value inside the arguments of
//	     tool calls in the history (OpenAI's JSON-string arguments are
//	     parsed). Images, files and thinking blocks count nothing.
//	  M: the number of messages (Responses: input items; a string input is
//	     one), plus one for a separate non-empty system prompt.
//	output     = reply words, or 1 + the number of arguments for a tool call
//	reasoning  = 15 when the request asks for reasoning (above), else 0
//	completion = output + reasoning
//
// Each protocol reports these its own way: OpenAI and Ark
// prompt_tokens/completion_tokens (reasoning in completion_tokens_details);
// Responses input_tokens/output_tokens; Anthropic input_tokens/output_tokens
// with cache fields; Gemini promptTokenCount, candidatesTokenCount (output
// only) and thoughtsTokenCount. count_tokens and countTokens return the
// prompt figure.
//
// The prompt cache is empty unless the last user message contains
// [[mock:cache=R,W]] ([[mock:cache=R]]: W is 0): then R of the prompt tokens
// are reported as read from the cache and W as written to it, clamped so
// that R ≤ prompt and W ≤ prompt − R. The prompt figure stays the whole
// prompt except for Anthropic, which reports the part outside the cache:
//
//	OpenAI, Ark  prompt_tokens = prompt; prompt_tokens_details.cached_tokens = R,
//	             prompt_tokens_details.cache_write_tokens = W (only if W > 0)
//	Responses    input_tokens = prompt; input_tokens_details.cached_tokens = R,
//	             input_tokens_details.cache_write_tokens = W (only if W > 0)
//	Anthropic    input_tokens = prompt − R − W; cache_read_input_tokens = R,
//	             cache_creation_input_tokens = W (and cache_creation's
//	             ephemeral_5m_input_tokens), in message_start and message_delta
//	Gemini       promptTokenCount = prompt; cachedContentTokenCount = R (and
//	             cacheTokensDetails) when R > 0; W is not reported
//
// Without the directive the cache figures are zero, and the optional ones
// absent. Stats count the whole prompt either way. Embeddings count the words of each input string, or the
// number of ids of a token array, with no per-message term.
//
// Streams report usage as each protocol does: once at the end for OpenAI
// with stream_options.include_usage (never otherwise), cumulatively on every
// chunk for Ark's chunk_include_usage and for Gemini, in message_start
// (input, output 1) and message_delta (cumulative) for Anthropic, and in
// response.completed for Responses.
//
// # Images
//
// Every image is the same 68-byte 1×1 transparent PNG, as standard base64 in
// b64_json / inlineData, or as a URL <base>/_mock/files/image-<i>.png where
// <base> is the scheme and Host the request came to and i the item's index
// from 0. GET /_mock/files/image-<digits>.png serves the PNG (image/png, no
// key needed, not counted in stats). No image route streams: stream:true is
// a 400.
//
// POST /v1/images/generations (JSON) and POST /v1/images/edits
// (multipart/form-data, or the JSON form with images:[{image_url|file_id}])
// need a prompt; n is 1 to 10 (default 1); response_format is url or
// b64_json. An edit needs at least one file in image, image[] or image[N];
// files (and the optional mask) must sniff as PNG, JPEG or WebP, whatever
// their name or part type. The answer is
//
//	{"created":<now>,"data":[n × {"b64_json":…} | {"url":…}],"usage":{…}}
//
// An item is b64_json when response_format is b64_json, or is unset and the
// model starts with "gpt-image"; otherwise url. Models starting with
// "dall-e-3" add "revised_prompt" (the prompt, unchanged). A missing model is
// dall-e-2. Only gpt-image models carry usage:
//
//	text_tokens   = words of the prompt
//	image_tokens  = 100 × input images (edits; the mask does not count)
//	input_tokens  = text_tokens + image_tokens
//	output_tokens = n × (4000 for quality high, 250 for low, else 1000)
//	total_tokens  = input_tokens + output_tokens
//	"usage":{"input_tokens","output_tokens","total_tokens",
//	         "input_tokens_details":{"text_tokens","image_tokens"}}
//
// POST /api/v3/images/generations (Ark Seedream) needs model and prompt;
// image is a URL or data URL or an array of them; size is 1K, 2K, 4K
// (echoed as 1024x1024, 2048x2048, 4096x4096), WxH (echoed as given) or
// unset (2048x2048); response_format url (default) or b64_json;
// sequential_image_generation auto or disabled; max_images 1 to 15. With
// N = max_images when sequential_image_generation is "auto" and max_images
// is set, else 1:
//
//	{"model":<model>,"created":<now>,"data":[N × {"url"|"b64_json":…,"size":<size>}],
//	 "usage":{"generated_images":N,"output_tokens":16384×N,"total_tokens":16384×N}}
//
// Gemini generateContent / streamGenerateContent with "IMAGE" in
// generationConfig.responseModalities answer a text part of the first 3
// reply words (fewer if Chunks or maxOutputTokens is smaller, which then
// ends with MAX_TOKENS) followed by {"inlineData":{"mimeType":"image/png",
// "data":…}}; candidatesTokenCount = text words + 1290, and usageMetadata
// adds candidatesTokensDetails [{TEXT, words}, {IMAGE, 1290}]. Streamed, one
// chunk per word, then one chunk with the image (a content event for
// CutAfter), then the final chunk with finishReason and usage; the image
// tokens appear in the usage from the image chunk on. A tool call is
// answered as without IMAGE, and without IMAGE nothing changes.
//
// Stats count images like the rest: prompt = input_tokens (OpenAI; 0 for
// dall-e and Ark), completion = output_tokens (0 for dall-e). Status faults
// and the [[mock:status=N]] and [[mock:delay=D]] directives (in the prompt)
// apply to the image routes.
//
// # Videos
//
// Video generation is a task: a POST creates it queued, and every GET of it
// by the key that created it advances it one step and answers its new state.
// The clock never moves a task, so a test polls without waiting. With
// Options.VideoSteps = n (default 2), GET k < n reports it in progress with
// progress 100·k/n and GET n finishes it: completed, or failed when the
// prompt (Ark: any text item) contains [[mock:fail]]. A finished task stays
// as it is. A negative VideoSteps keeps every task queued. Another key, or
// an unknown id, gets a 404; task numbers n count Sora and Seedance tasks
// together from 1 and are never reused, not even after Reset, which forgets
// the tasks. The mock keeps the latest 65536 tasks.
//
// POST /v1/videos (OpenAI Sora) takes multipart/form-data, as openai-go and
// npm send it, or JSON: prompt (required), model (default sora-2), seconds
// "4", "8" or "12" (default "4"; a JSON number too), size WxH (default
// 720x1280), input_reference (a file part that must sniff as PNG, JPEG or
// WebP, input_reference[image_url] / [file_id] fields, or JSON
// {image_url|file_id}). It and every GET answer the VideoResource, with
// openai-poll-after-ms: 10 so that openai-go's PollStatus polls fast:
//
//	{"id":"video_<n>","object":"video","model":…,"status":"queued","progress":0,
//	 "created_at":<now>,"size":…,"seconds":…,"prompt":…,"completed_at":null,
//	 "expires_at":null,"error":null,"remixed_from_video_id":null}
//
// Status goes queued (0) → in_progress (50) → completed (100), with
// completed_at = the time of the finishing GET and expires_at = completed_at
// + 3600; or → failed (100) with completed_at, expires_at null and
// "error":{"code":"moderation_blocked","message":…}. GET
// /v1/videos/{id}/content answers a completed video with a fixed 64-byte
// MP4 (video/mp4; an ftyp box, brand mp42, and an mdat box), or with
// ?variant=thumbnail or spritesheet a 1×1 WebP (image/webp); before
// completion, or after a failure, a 404 in OpenAI's error shape. DELETE
// removes a completed or failed video ({"id","object":"video.deleted",
// "deleted":true}) and refuses one still queued or in progress with a 400.
// Sora responses carry no usage.
//
// POST /api/v3/contents/generations/tasks (Ark Seedance) needs model and a
// non-empty content array of {type:"text",text}, {type:"image_url",
// image_url:{url},role?}, {type:"video_url",video_url:{url},role?},
// {type:"audio_url",audio_url:{url},role?} or {type:"draft_task",
// draft_task:{id}}; resolution and ratio are strings (default 720p and
// 16:9), duration an integer from 1 to 60 (default 5), seed an integer from
// -1 (random, reported as 42) to 2³²−1; watermark, generate_audio,
// return_last_frame, camera_fixed and draft booleans; callback_url a string
// (the mock never calls it). The older text commands --resolution/--rs,
// --ratio/--rt, --duration/--dur and --seed in the text fill what the
// top-level fields leave unset. It answers {"id":"cgt-<n>"}; a GET answers
//
//	{"id":"cgt-<n>","model":…,"status":…,
//	 ["error":{"code":"OutputVideoSensitiveContentDetected","message":…},]   failed
//	 ["content":{"video_url":"<base>/_mock/files/video-<n>.mp4"           succeeded
//	            [,"last_frame_url":"<base>/_mock/files/image-<n>.png"]},    return_last_frame
//	  "usage":{"completion_tokens":T,"total_tokens":T},]                   succeeded
//	 "created_at":…,"updated_at":<time of the last change>,"seed":…,"resolution":…,
//	 "ratio":…,"duration":…,"framespersecond":24[,"generate_audio":…],
//	 "service_tier":"default","execution_expires_after":172800}
//
// with T = duration × 21780 and status queued → running → succeeded or
// failed. DELETE answers {} and cancels a queued task (status "cancelled"
// from then on) or deletes a finished one (then 404); a running task gets a
// 400. An unknown task is a 404 with code ResourceNotFound. GET
// /_mock/files/video-<digits>.mp4 serves the MP4 (no key, not counted).
//
// Stats count every task request like any other. Seedance's usage is
// counted once per task, as completion tokens, by the first GET that
// reports it succeeded. [[mock:status=N]] and [[mock:delay=D]] in the prompt
// apply to the create call; a key's fault applies to every task request, and
// a faulted GET does not advance the task.
//
// # Faults
//
// SetFault installs a Fault for one upstream key, or with key "" for every
// key that has none of its own. Options.Latency and Fault.FirstByteDelay
// delay the first byte; Fault.Status answers with that status in the
// protocol's error shape (529 is Anthropic's overloaded_error), with
// Retry-After and Retry-After-Ms when RetryAfter is set; Fault.CutAfter
// breaks a stream after that many content events (reply words or argument
// fragments; after the last one if there are fewer) by aborting the handler
// with http.ErrAbortHandler, so the client
// sees an unexpected EOF and no final, usage, [DONE] or message_stop event.
// Because of that panic, serve the mock with net/http (httptest.Server or
// http.Server), not by calling ServeHTTP on a recorder, when streams may be
// cut. Fault.Times limits a fault to the next N requests.
//
// The same faults can be asked for in the prompt, for tests that go through
// a gateway which forwards no client headers: the last user message may
// contain [[mock:status=500]], [[mock:cut=3]], [[mock:delay=200ms]] (first
// byte) and [[mock:tool]]. They override the key's fault for that request.
// [[mock:cache=R,W]] is not a fault: it sets the prompt-cache figures of the
// usage (see Usage). A directive with a bad value is ignored.
//
// Options.ChunkDelay paces streams: it is waited before every event that
// carries generated text (reasoning, reply words, tool arguments).
//
// # Control surface
//
// Another process steers the mock over HTTP (see Remote):
//
//	POST /_mock/faults  {"key":"sk-1","fault":{"status":429,"retry_after":"1s","times":1}}
//	GET  /_mock/stats?key=sk-1   (no key: totals)
//	POST /_mock/reset
//	GET  /_mock/files/image-<i>.png   (the mock image; see Images)
//	GET  /_mock/files/video-<n>.mp4   (the mock video; see Videos)
//
// Durations in a fault are Go duration strings or numbers of milliseconds;
// the fields are status, retry_after, first_byte_delay, cut_after and times.
// Stats count requests per upstream key: by status, streams, cut streams,
// abandoned responses, faulted requests, and the prompt and completion tokens
// of the responses whose usage reached the client.
//
// # Cost
//
// Request bodies are read once and scanned with gjson, without reflection;
// responses are appended to pooled buffers from pre-encoded fragments; a
// stream runs on the request's goroutine with no extra goroutine or channel.
package mock
