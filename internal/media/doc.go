// Package media fetches images and documents that clients send by URL, for
// upstreams that take only inline data (Gemini always; others when a channel
// is configured so).
//
// Fetching a URL chosen by a client is a server-side request forgery risk:
// the gateway must not become a way into its own network, the cloud metadata
// service or a neighbour's admin page. A Fetcher therefore
//
//   - accepts only http and https URLs;
//   - refuses private, loopback, link-local, unspecified, multicast, shared
//     (CGNAT) and other special-purpose addresses unless told otherwise, and
//     checks the address each connection is actually made to, so neither
//     DNS rebinding nor a redirect nor an odd spelling of an address gets
//     past it;
//   - uses no proxy from the environment, which would defeat that check;
//   - follows a few redirects, waits a bounded time, and refuses a body over
//     its size limit rather than cutting it;
//   - accepts only images and PDFs.
//
// Its errors are *llm.Error values whose messages are safe to show to the
// client: they name the URL the client gave and a reason, never an address
// it resolved or redirected to.
package media
