// Package sodpotel instruments an SODP client (package sodp) with
// OpenTelemetry metrics and traces. It is a module of its own, so that
// the client's module depends on nothing of OpenTelemetry: the client
// offers hooks (sodp.Hooks), and this package builds them.
//
//	client, err := sodp.Dial(ctx, url, sodpotel.Instrument())
//
// Instrument uses the global MeterProvider and TracerProvider of package
// otel unless WithMeterProvider or WithTracerProvider name others.
//
// # Metrics
//
// Counters the client keeps anyway (sodp.Stats) are read when the metrics
// are collected, by observable instruments: nothing is done per update.
// The other instruments are recorded by the hooks, per call, per
// connection attempt, per resume and per subscription that ends.
//
//	name                                  kind                  unit           attributes
//	sodp.client.connections               observable up/down    {client}       sodp.connection.state
//	sodp.client.connection.attempts       counter               {attempt}
//	sodp.client.connection.failures       counter               {attempt}      error.type
//	sodp.client.connects                  observable counter    {connection}
//	sodp.client.reconnects                observable counter    {connection}
//	sodp.client.disconnects               observable counter    {connection}
//	sodp.client.reconnect.delay           histogram             s
//	sodp.client.resume.duration           histogram             s              sodp.dialect, sodp.resume.outcome
//	sodp.client.resume.keys               observable counter    {key}
//	sodp.client.updates                   observable counter    {update}       sodp.update.kind
//	sodp.client.updates.conflated         observable counter    {update}
//	sodp.client.subscriptions             observable up/down    {subscription}
//	sodp.client.subscription.ends         counter               {subscription} sodp.subscription.end_reason
//	sodp.client.slow_consumers            observable counter    {subscription}
//	sodp.client.watched_keys              observable up/down    {key}
//	sodp.client.call.duration             histogram             s              sodp.method, sodp.dialect, sodp.call.outcome, sodp.error.code (server errors)
//	sodp.client.calls.sent                observable counter    {call}
//	sodp.client.calls.pending             observable up/down    {call}
//	sodp.client.server_errors             observable counter    {error}        sodp.error.code
//	sodp.client.frames                    observable counter    {frame}        network.io.direction
//	sodp.client.io                        observable counter    By             network.io.direction
//	sodp.client.frame.errors              observable counter    {frame}        error.type (decode, apply)
//	sodp.client.outbound.queue            observable gauge      {frame}
//	sodp.client.presence.entries          observable up/down    {entry}
//	sodp.client.hook.events.dropped       counter               {event}
//
// # Cardinality
//
// Every attribute takes a small, fixed set of values: methods (the five
// built-in ones and the application's own method names), dialects, kinds,
// states, outcomes, reasons and error codes (at most 502 codes). No metric
// carries a key unless WithKeyAttribute asks for it: keys are the
// application's data, and a label per key makes as many series as there
// are keys. Servers and endpoints are not attributes of the metrics
// either; WithAttributes adds attributes of your own (a client's name, for
// instance) to every metric and span.
//
// Several clients may share one Instrument option: the observable
// instruments report their sum, and a client that closes keeps its
// counts in the sums, so counters never go down.
//
// # Traces
//
// Each call (Call, Set, Patch, SetIn, Delete, Presence) is a span of kind
// client named "sodp.call " and the method ("sodp.call state.set"), a
// child of the span in the call's context, from the call's start to its
// return. Its attributes are sodp.method, sodp.key, sodp.dialect,
// server.address and server.port, and sodp.call.sent; a failed call has
// status Error with the error's text, error.type (the outcome:
// server_error, timeout, connection_lost…), and for an error from the
// server sodp.error.code and sodp.error.attribution (how the error was
// matched to the call: call_id, stream, key or order, a guess). The
// protocol's frames carry no metadata field, so the trace context cannot
// be propagated to the server: the server's work on a call is not part of
// its trace.
package sodpotel
