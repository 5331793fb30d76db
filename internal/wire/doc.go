// Package wire holds the HTTP API's contract: the JSON bodies the server
// (internal/api) sends and reads, and the CLI, the workers and the API client
// (internal/api/client) read and send. It is kept apart from the engine's and
// the store's types so the API can stay stable while those change; where a
// wire type mirrors a declaration type field by field (a rule's targets), a
// round-trip test keeps the two in step.
package wire
