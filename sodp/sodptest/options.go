package sodptest

import (
	"log/slog"
	"time"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/sodp"
)

// Option configures a Server. Options are applied in order; a later option
// overrides an earlier one of the same kind.
type Option func(*config)

type config struct {
	secret      []byte
	dialect     dialect
	deltaLog    int
	heartbeat   time.Duration
	hbSet       bool
	echo        bool
	echoSet     bool
	writeRate   float64
	watchRate   float64
	acl         func(sub, key string, write bool) bool
	maxMessage  int64
	addr        string
	inMemory    bool
	logger      *slog.Logger
	maxRecorded int
	reorder     int
	onChange    func(Change)
	replayHook  func(key string, n int)
	methods     map[string]func(map[string]any) (any, error) // WithMethod

	// Set by Cluster for its nodes.
	serverID   string                                                                           // HELLO server_id (sodp.DialectGo)
	preload    map[string]storedKey                                                             // initial state
	applied    func(key string, v uint64, ops []delta.Op, value any, initialized, relayed bool) // every change applied
	sendBuffer int
	maxWatches int

	burstGap time.Duration // set by tests of this package (late.go)
}

func defaultConfig() config {
	return config{deltaLog: 1000, addr: "127.0.0.1:0"}
}

// WithAuth requires every connection to authenticate with an HS256 JWT
// signed with secret, carrying a string "sub" and a numeric "exp" in the
// future. HELLO then says auth:true. A nil secret is treated as an empty,
// non-nil one (auth stays required). Server.Token makes valid tokens.
func WithAuth(secret []byte) Option {
	return func(c *config) {
		if secret == nil {
			secret = []byte{}
		}
		c.secret = append([]byte{}, secret...)
	}
}

// WithDialect selects the server behaviour to reproduce: one of
// sodp.DialectSpec (the default, the protocol specification),
// sodp.DialectGo, sodp.DialectTS or sodp.DialectRust, each with the known
// deviations of that server family. An unknown value behaves as
// sodp.DialectSpec.
func WithDialect(d sodp.Dialect) Option {
	return func(c *config) { c.dialect = dialect(d) }
}

// WithDeltaLog sets how many DELTAs per key are kept for RESUME (default
// 1000). Zero or less keeps none, so every RESUME with missed versions finds
// a gap.
func WithDeltaLog(n int) Option { return func(c *config) { c.deltaLog = n } }

// WithHeartbeat sets the heartbeat interval (default 30 s; 25 s for
// sodp.DialectRust). It drives the dialect's mechanism — HEARTBEAT frames
// (sodp.DialectSpec, sodp.DialectTS) or WebSocket pings (sodp.DialectGo, sodp.DialectRust) — and
// the liveness window: a connection that shows no sign of life, as the
// dialect judges it, for twice the interval is closed. Zero or less turns
// both off.
func WithHeartbeat(d time.Duration) Option {
	return func(c *config) { c.heartbeat, c.hbSet = d, true }
}

// WithHeartbeatEcho makes the server echo every client HEARTBEAT (true)
// or none (false), whatever the dialect does by default: sodp.DialectTS
// never echoes, like the TypeScript server today, and WithHeartbeatEcho(true)
// reproduces a version of it (or a proxy in front of it) that does; the
// other dialects echo. The echo is a HEARTBEAT like the server's own: the
// client cannot tell them apart.
func WithHeartbeatEcho(echo bool) Option {
	return func(c *config) { c.echo, c.echoSet = echo, true }
}

// WithRateLimit limits each connection to writesPerSec CALLs and
// watchesPerSec WATCH/RESUME frames per second. Over the limit a request
// is refused with code 429 in the dialect's form. A rate of zero or less
// leaves that kind unlimited. With DialectTS the limit is the TypeScript
// server's: requests counted in one-second windows (a multi-key WATCH is
// one), the rates announced in HELLO (rate_limit_watches,
// rate_limit_writes), and the 429s of a burst sent before the answers of
// the requests it accepted; the other dialects use a token bucket with a
// burst equal to the rate (at least 1).
func WithRateLimit(writesPerSec, watchesPerSec float64) Option {
	return func(c *config) { c.writeRate, c.watchRate = writesPerSec, watchesPerSec }
}

// WithACL installs an access check called for every watched key
// (write=false) and every mutating CALL (write=true) with the connection's
// authenticated subject ("" without WithAuth). Returning false refuses the
// request with code 403. The function runs on the connection's goroutine and
// must not call back into the Server.
func WithACL(allow func(sub, key string, write bool) bool) Option {
	return func(c *config) { c.acl = allow }
}

// WithMaxMessageSize sets the largest inbound message in bytes. The default
// depends on the dialect: 64 KiB for sodp.DialectGo, 1 MiB for the others. A
// larger message closes the connection with code 1009 (sodp.DialectRust sends
// ERROR 413 first). Zero or less restores the dialect's default. As on the
// real servers, the limit applies only to what a client sends: a value
// grown past it by writes that each fit (state.set_in, state.patch) is
// held, and sent in STATE_INIT and DELTA frames, whatever its size.
func WithMaxMessageSize(n int64) Option { return func(c *config) { c.maxMessage = n } }

// WithAddr sets the listening address (default "127.0.0.1:0", a free
// loopback port).
func WithAddr(addr string) Option { return func(c *config) { c.addr = addr } }

// WithInMemory starts the server without a socket: clients connect through
// Server.DialContext, over net.Pipe: Server.Dial makes such a client, and
// Server.ClientOptions gives the option it uses,
// sodp.WithNetDialContext(srv.DialContext). URL is then
// "ws://sodptest.pipe", which only such a client reaches.
// WithAddr has no effect with it.
func WithInMemory() Option { return func(c *config) { c.inMemory = true } }

// WithLogger sets the logger for connections, authentication (Info) and
// mutations (Debug). nil, the default, discards everything.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithMaxRecorded bounds how many received frames Server.Received and
// Conn.Received keep (the newest n; default 0, unbounded). Long-running
// servers should set it.
func WithMaxRecorded(n int) Option { return func(c *config) { c.maxRecorded = n } }

// WithOutOfOrderDeltas makes the server deliver a key's DELTAs out of
// version order, as the Go server does under concurrent writers (it
// assigns versions under its state lock and broadcasts outside it, so one
// writer's broadcast can overtake another's): every n-th DELTA of each key
// is held back and queued to its watchers right after the key's next
// DELTA, or, when no other change of the key follows, about 2 ms later.
// The RESUME log keeps version order. n <= 0, the default, delivers in
// order.
func WithOutOfOrderDeltas(n int) Option { return func(c *config) { c.reorder = n } }

// Change is one change a server applied to a key, as WithOnChange reports
// it.
type Change struct {
	URL         string // the server's URL (tells the nodes of a Cluster apart)
	Key         string
	Version     uint64 // the key's version after the change
	Value       any    // the value after the change, nil when deleted; shared with the server, must not be modified
	Initialized bool   // false after a delete
	Relayed     bool   // the change came from another node of a Cluster
}

// WithOnChange calls fn for every change the server applies to a key —
// from a client, from the test, or relayed from another Cluster node — in
// the order it applies them, before the change is delivered to watchers.
// fn runs with the server's state locked and must not call back into the
// Server. nil, the default, calls nothing.
func WithOnChange(fn func(Change)) Option { return func(c *config) { c.onChange = fn } }

// WithReplayHook calls fn after the n-th DELTA of a RESUME's replay of key
// is queued to the client, without the server's state locked: fn may
// change state (Set, SetIn…), for instance to make a live change land
// inside a replay on cue. sodp.DialectGo does what the Go server does: it
// subscribes the resuming client to live changes before it queues the
// replay, outside its state lock, so a change made meanwhile (by fn or by
// any writer) reaches the client in the middle of the replay, ahead of the
// older versions still to come. The other dialects queue the replay and
// its STATE_INIT at once, and fn's changes follow them. fn runs on the
// connection's goroutine; nil, the default, calls nothing.
func WithReplayHook(fn func(key string, n int)) Option {
	return func(c *config) { c.replayHook = fn }
}

// WithSendBuffer sets the bound of each connection's outbound queue, in
// frames not yet written to the socket. What happens at the bound is the
// dialect's: DialectSpec and DialectRust evict the connection (default
// bound 1,024 frames), DialectGo drops the frame silently, whatever it is
// — DELTA, STATE_INIT, RESULT, ERROR or a HEARTBEAT echo — (default 256,
// announced as "backpressure" in HELLO), DialectTS never limits its queue
// and ignores the option. Zero or less restores the dialect's default.
// Server.Stats counts evictions and dropped frames.
func WithSendBuffer(n int) Option { return func(c *config) { c.sendBuffer = n } }

// WithMaxWatches limits each connection to n server-side subscriptions, as
// the Go server's max_watches setting does (its command defaults to 1,024;
// the test server's default is 0, no limit). DialectGo announces the limit
// as "max_watches" in HELLO's capabilities; every dialect enforces it the
// Go server's way: a WATCH or RESUME of a key past the limit gets ERROR 429
// "watch limit reached", and the rest of a multi-key WATCH is dropped
// without an answer. UNWATCH frees a slot.
func WithMaxWatches(n int) Option { return func(c *config) { c.maxWatches = n } }
