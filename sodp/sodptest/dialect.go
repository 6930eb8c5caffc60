package sodptest

import (
	"cmp"
	"strconv"
	"time"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/wire"
)

// dialect is a sodp.Dialect: the same numbering (a test checks it),
// without importing the client into the server.
type dialect uint8

const (
	dialectSpec dialect = iota
	dialectGo
	dialectTS
	dialectRust
)

func (d dialect) String() string {
	switch d {
	case dialectSpec:
		return "spec"
	case dialectGo:
		return "go"
	case dialectTS:
		return "ts"
	case dialectRust:
		return "rust"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// closeMode says what happens to a connection after an error that may end it.
type closeMode int

const (
	stayOpen      closeMode = iota // keep the connection
	closeGraceful                  // send a close frame, then close
	dropAbrupt                     // close the socket without a close frame
)

// liveness names what keeps a connection alive in the server's eyes.
type liveness int

const (
	liveAnyTraffic      liveness = iota // any message, ping or pong
	livePong                            // pongs to the server's pings only
	liveClientHeartbeat                 // the client's HEARTBEAT frames only
)

// streamMode names how STATE_INIT stream ids are chosen.
type streamMode int

const (
	streamSpec   streamMode = iota // the client's id for one key, own ids for several
	streamClient                   // always the frame's stream id
	streamOwn                      // own ids 10, 11, … per connection
)

// resumeMode names the RESUME replay policy.
type resumeMode int

const (
	resumeSpec    resumeMode = iota // replay + STATE_INIT when covered, else STATE_INIT
	resumeNoInit                    // replay only when covered (no STATE_INIT), else STATE_INIT
	resumePartial                   // whatever the log has, then STATE_INIT
)

// slowMode names what happens when a connection's outbound queue is full.
type slowMode int

const (
	slowEvict     slowMode = iota // close the connection
	slowDrop                      // drop the frame silently
	slowUnbounded                 // never full
)

// Default outbound queue bounds: the spec and Rust servers evict a
// connection with 1,024 frames queued; the Go server's send buffer holds
// 256 frames and it drops what does not fit.
const (
	queueLimit   = 1024
	goSendBuffer = 256
)

// traits lists every observable difference between the dialects.
type traits struct {
	enc              wire.EncodeOptions
	pings            bool // WebSocket pings instead of HEARTBEAT frames
	echo             bool // echo client HEARTBEAT frames
	live             liveness
	defaultHeartbeat time.Duration
	maxMessage       int64
	tooBig413        bool // ERROR 413 before the 1009 close
	authFail         closeMode
	missingTokenCode int
	missingToken     closeMode
	beforeAuth       closeMode
	liveExpiry       bool
	streams          streamMode
	dedup            bool
	multiStop        bool // a bad key ends the processing of a multi-key WATCH
	unwatchByStream  bool
	resultVersion    bool // RESULT data is {version}; else nil
	resultFirst      bool // RESULT is queued before the caller's own DELTA
	skipUnchanged    bool // a write that changes nothing: no version, no DELTA, RESULT {}
	presenceAlways   bool // presence teardown sends REMOVE for every entry, present or not
	failAsError      bool // CALL failures are ERROR frames
	rate429Error     bool // a rate-limited CALL is an ERROR frame
	windowLimit      bool // rate limits count per one-second window, not by token bucket
	lateAnswers      bool // a burst's WATCH/RESUME answers follow its rate-limit refusals
	unknownMethod    int
	deepPatch        bool
	dottedSetIn      bool
	presence         bool
	firstOp          string
	perKeyVersions   bool
	resume           resumeMode
	liveBeforeReplay bool // a RESUME subscribes to live changes, then queues the replay unlocked
	since64Only      bool
	slow             slowMode
	rawPaths         bool // diff paths without ~0/~1 escaping
	errStream0       bool // WATCH/RESUME key errors on stream 0
	aclMessage       func(key string) string
	nilBodyCrash     bool
	unwatchNilSilent bool
	ignoreBadFrames  bool
	helloName        string
}

func forbiddenKey(key string) string    { return "forbidden: " + key }
func accessDeniedKey(key string) string { return "access denied: " + key }

func traitsOf(d dialect) *traits {
	switch d {
	case dialectGo:
		return &traits{
			enc:              wire.EncodeOptions{FixedWidthInts: true, OmitEmptyOpValues: true, DeltaKeyField: "key"},
			pings:            true,
			echo:             true,
			live:             livePong,
			defaultHeartbeat: 30 * time.Second,
			maxMessage:       64 << 10,
			authFail:         stayOpen,
			missingTokenCode: 400,
			missingToken:     stayOpen,
			beforeAuth:       stayOpen,
			streams:          streamClient,
			multiStop:        true,
			unwatchByStream:  true,
			resultVersion:    true,
			resultFirst:      true,
			skipUnchanged:    true,
			failAsError:      true,
			rate429Error:     true,
			unknownMethod:    400,
			dottedSetIn:      true,
			firstOp:          delta.OpUpdate,
			resume:           resumeNoInit,
			liveBeforeReplay: true,
			since64Only:      true,
			slow:             slowDrop,
			rawPaths:         true,
			aclMessage:       func(string) string { return "access denied" },
			unwatchNilSilent: true,
			helloName:        "sodptest-go",
		}
	case dialectTS:
		return &traits{
			live:             liveClientHeartbeat,
			defaultHeartbeat: 30 * time.Second,
			maxMessage:       1 << 20,
			authFail:         closeGraceful,
			missingTokenCode: 401,
			missingToken:     closeGraceful,
			beforeAuth:       stayOpen,
			streams:          streamOwn,
			dedup:            true,
			rate429Error:     true,
			windowLimit:      true,
			lateAnswers:      true,
			unknownMethod:    404,
			presence:         true,
			presenceAlways:   true,
			firstOp:          delta.OpUpdate,
			perKeyVersions:   true,
			resume:           resumeSpec,
			slow:             slowUnbounded,
			errStream0:       true,
			aclMessage:       accessDeniedKey,
			nilBodyCrash:     true,
			helloName:        "sodp-server-ts",
		}
	case dialectRust:
		return &traits{
			enc:              wire.EncodeOptions{DeltaKeyField: "-"},
			pings:            true,
			echo:             true,
			live:             livePong,
			defaultHeartbeat: 25 * time.Second,
			maxMessage:       1 << 20,
			tooBig413:        true,
			authFail:         dropAbrupt,
			missingTokenCode: 401,
			missingToken:     dropAbrupt,
			beforeAuth:       dropAbrupt,
			liveExpiry:       true,
			streams:          streamOwn,
			resultVersion:    true,
			failAsError:      true,
			rate429Error:     true,
			unknownMethod:    404,
			deepPatch:        true,
			presence:         true,
			firstOp:          delta.OpAdd,
			resume:           resumePartial,
			slow:             slowEvict,
			rawPaths:         true,
			errStream0:       true,
			aclMessage:       forbiddenKey,
			ignoreBadFrames:  true,
			helloName:        "SODP-RS",
		}
	}
	return &traits{
		echo:             true,
		live:             liveAnyTraffic,
		defaultHeartbeat: 30 * time.Second,
		maxMessage:       1 << 20,
		authFail:         closeGraceful,
		missingTokenCode: 401,
		missingToken:     closeGraceful,
		beforeAuth:       closeGraceful,
		liveExpiry:       true,
		streams:          streamSpec,
		dedup:            true,
		resultVersion:    true,
		unknownMethod:    404,
		presence:         true,
		firstOp:          delta.OpAdd,
		resume:           resumeSpec,
		slow:             slowEvict,
		aclMessage:       forbiddenKey,
		helloName:        "sodptest",
	}
}

// hello builds the HELLO body the dialect sends.
func (s *Server) hello() *wire.Hello {
	cfg := &s.cfg
	auth := cfg.secret != nil
	methods := []any{"state.set", "state.patch", "state.set_in", "state.delete", "state.append"}
	if s.tr.presence {
		methods = append(methods, "state.presence")
	}
	switch cfg.dialect {
	case dialectGo:
		// capabilities.jwt names the token algorithm on an auth server.
		var jwt any = false
		if auth {
			jwt = "hs256"
		}
		var rate any = int64(0)
		if cfg.writeRate > 0 || cfg.watchRate > 0 {
			rate = map[string]any{"writes_per_sec": cfg.writeRate, "watches_per_sec": cfg.watchRate}
		}
		return &wire.Hello{
			Protocol: "sodp",
			Version:  "1.0",
			ServerID: cmp.Or(cfg.serverID, s.tr.helloName),
			Auth:     auth,
			Capabilities: map[string]any{
				"max_sessions": int64(0),
				"max_watches":  int64(max(cfg.maxWatches, 0)),
				"rate_limit":   rate,
				"backpressure": int64(s.queueLimit),
				"jwt":          jwt,
			},
		}
	case dialectRust:
		return &wire.Hello{
			Version: "0.1",
			Server:  s.tr.helloName,
			Auth:    auth,
			Capabilities: map[string]any{
				"rate_limit_writes":  optionalRate(cfg.writeRate),
				"rate_limit_watches": optionalRate(cfg.watchRate),
				"max_message_size":   s.maxMessage,
				"presence":           true,
				"methods":            methods,
			},
		}
	}
	caps := map[string]any{
		"heartbeat_ms":     s.heartbeat.Milliseconds(),
		"max_message_size": s.maxMessage,
		"delta_log":        int64(cfg.deltaLog),
		"presence":         s.tr.presence,
		"resume":           true,
		"methods":          methods,
	}
	if cfg.dialect == dialectTS {
		// That server announces its per-connection rates (WATCH/RESUME
		// frames and CALLs per second).
		caps["multi_watch"] = true
		if cfg.watchRate > 0 {
			caps["rate_limit_watches"] = cfg.watchRate
		}
		if cfg.writeRate > 0 {
			caps["rate_limit_writes"] = cfg.writeRate
		}
	}
	return &wire.Hello{
		Protocol:     "sodp",
		Version:      "1.0",
		Server:       s.tr.helloName,
		Auth:         auth,
		Capabilities: caps,
	}
}

// optionalRate is nil for an unset rate limit, else the rate.
func optionalRate(r float64) any {
	if r <= 0 {
		return nil
	}
	return r
}
