// Package protocol holds the wire protocols the gateway speaks, one package
// each: chat (OpenAI Chat Completions, also Ark and compatible providers),
// responses (OpenAI Responses), anthropic (Messages) and gemini
// (generateContent). Each translates its protocol to and from the
// provider-neutral types of internal/llm, in both roles: as the client's
// protocol (parse requests, encode answers, streams and errors) and as an
// upstream's (encode requests, decode answers and streams). The packages do
// no I/O and never import each other.
//
// This package itself only holds the cross-protocol golden tests: every
// client request of one protocol translated into every other upstream
// protocol, and every recorded upstream stream of one protocol translated
// into every other client protocol (testdata/pairs).
package protocol
