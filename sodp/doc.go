// Package sodp is a client for SODP, the State-Oriented Data Protocol: a
// server keeps named pieces of state ("keys", like game.player), a client
// watches keys and receives each one's whole value once and then only the
// changes, and writes go through a small RPC layer on the same WebSocket.
//
// This client hands values to Go channels instead of callbacks:
//
//	client, err := sodp.Dial(ctx, "ws://localhost:7777")
//	if err != nil { ... }
//	defer client.Close()
//
//	sub, err := sodp.Watch[Player](ctx, client, "game.player")
//	if err != nil { ... }
//	for u := range sub.Updates() {
//		fmt.Println(u.Kind, u.Version, u.Value.Health)
//	}
//	// Updates is closed: sub.Err() says why.
//
// # Connecting
//
// Dial returns a live client, or the first connection attempt's error
// (WithRetryOnFailedConnect makes it keep trying until its context ends);
// New returns at once and keeps trying in the background (Ready waits).
// Either way, once connected, the client stays connected until Close: a lost connection is re-dialled with jittered exponential back-off
// (WithBackoff), through every endpoint given (WithEndpoints). Tokens come
// from WithToken or, refreshed on every connection, WithTokenProvider. A
// connection that shows no traffic for two heartbeat intervals
// (WithHeartbeat) is declared dead and re-dialled. State and Events report
// the connection state; Server says which server family the client
// recognised (the known servers deviate from the specification in known
// ways, and the client adapts).
//
// # Watching
//
// Watch, WatchMany and Key(...).Watch return a *Subscription whose Updates
// channel delivers Update values: Key, Value (converted into the type
// parameter), Version, Initialized, Kind and Skipped. The first update is
// the current value (KindSnapshot, or KindCached when another subscription
// of the client already holds the key). Later ones are live changes
// (KindDelta); after a reconnect the client resumes from the last version
// it holds, and the subscriber sees either every missed change
// (KindReplayed) or one fresh value that says the gap could not be
// replayed (KindResync). Resumes are paced so that the frames the server
// may owe the client stay within half of the server's per-connection
// queue (servers evict a client at 1,024 queued frames or, the Go server,
// silently drop frames past 256): replays go out many at a time while they
// are short and one by one when they are long, and a connection lost in
// the middle of its resume makes the next one more cautious (one replay at
// a time, then fresh values instead of replays). A WATCH or RESUME whose
// answer never comes is sent again; on the Go server, a sign that frames
// were dropped makes the client verify every key with a fresh WATCH.
//
// A slow reader never slows the client. By default updates are conflated:
// a reader that falls behind gets the newest value next, with Skipped
// counting the updates it replaced — no state is lost, because every update
// carries the whole value. WithBuffer(n) delivers every update instead, up
// to n behind; one more ends the subscription with ErrSlowConsumer.
//
// Several subscriptions of one key share one server subscription; the
// server is told to stop (UNWATCH) when the last one closes. A
// subscription's keys can change while it runs (AddKeys, RemoveKeys), and
// subscriptions of different types can be read from one channel (Group)
// with no goroutine per subscription.
//
// Two things reach a reader as a zero value, and a reader must tell them
// apart from real data: an update whose Err is set (the value did not
// convert into the type; the subscription goes on), and a key that was
// never written or was deleted (Initialized is false). Check both before
// using Value.
//
// A large object watched whole (a room's cursors, a leaderboard) is best
// watched as a Map: an immutable map whose each update shares every entry
// the change did not touch with the previous one, so an update costs the
// change rather than the object; ChangedKeys names the entries to redraw
// (List is the immutable list of the same kind).
// WatchPath watches one part of a value alone.
//
// A value watched as any (or map[string]any, []any) is the client's own
// copy, shared with every untyped reader of the key: it must not be
// modified. WithMutationCheck (or SODP_MUTATION_CHECK=1) makes tests
// panic, naming the key and the path, when it is.
//
// # Writing
//
// Set, Patch, SetIn, Delete, Presence and the generic Call take a context
// that bounds the wait (WithCallTimeout applies when it has no deadline).
// Writes return the version the server assigned, when the server says (0
// when it does not, which WaitVersion refuses with ErrNoVersion); a Ref's
// WaitVersion waits until the client's copy has caught up with it
// (read-your-writes). Server failures are *ServerError values that match
// the sentinels (ErrForbidden, ErrRateLimited, …) with errors.Is, whether
// the server answered with a failed RESULT or an ERROR frame. A call whose
// connection drops before the answer fails with ErrConnectionLost: it may
// or may not have been applied.
//
// Get reads a key once (the client's copy when it is watched, else WATCH,
// first value, UNWATCH); a Ref's Cached reads only the client's copy.
// CallAs decodes a call's result into a type. Ping measures the round trip
// to the server; Stats().RTT keeps the last one the heartbeat measured.
//
// Values written are encoded by the rules values read are decoded with
// (msgpack tag, else json tag, else field name; "-" and omitempty
// honoured; embedded structs promoted), so Set(v) then Watch[T] gives v
// back. A value with no encoding (a cycle, a channel, a function, a
// complex number, NaN or ±Inf, an unsupported map key) fails with
// ErrUnsupportedValue before anything is sent.
//
// # Errors
//
// Every error the client returns or delivers matches a sentinel declared
// here (ErrClosed, ErrConnectionLost, ErrConnectFailed, ErrInvalidKey,
// ErrUnsupportedValue, ErrConvert, …) or a context error, with errors.Is;
// the only exceptions are programming errors such as a nil context.
// *ServerError, *ConvertError and *CloseError give the details with
// errors.As. Invalid options and URLs make Dial and New fail with
// ErrInvalidOption and ErrInvalidURL.
//
// # Errors that belong to no caller
//
// A server ERROR that matches no request, a frame that cannot be decoded,
// or a delta that does not apply to the local copy (the key is then
// re-synchronised with a fresh value) is logged (WithLogger) and sent on
// Events. Bad input from the network never panics the client and never
// silently corrupts a cached value.
//
// # Observing
//
// Stats returns the client's counters. WithHooks installs functions told
// of each call, each step of the connection lifecycle, each resume and
// each subscription that opens or ends, without ever holding up the
// client (see Hooks); package sodpotel, a module of its own, builds them
// for OpenTelemetry metrics and traces.
//
// # Testing
//
// Package sodptest runs a real SODP server in-process, in the style of
// net/http/httptest, with switches that reproduce each known server's
// deviations; its Server.Dial connects a client in one call. In a
// testing/synctest bubble, start it WithInMemory and connect with its Dial
// (or WithNetDialContext and its DialContext; see sodptest's examples): a
// client that would dial a real socket there fails at once with
// ErrInvalidOption.
package sodp
