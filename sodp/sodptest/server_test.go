package sodptest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sodp-go/client/internal/testutil"
	"github.com/sodp-go/client/internal/wire"

	"github.com/sodp-go/client/sodp"
)

func TestDialectString(t *testing.T) {
	for _, d := range allDialects {
		got, err := sodp.ParseDialect(d.String())
		if err != nil || got != d {
			t.Errorf("ParseDialect(%q) = %v, %v", d.String(), got, err)
		}
		// The server's own numbering is the client's.
		if dialect(d).String() != d.String() {
			t.Errorf("dialect(%d) = %v, sodp says %v", d, dialect(d), d)
		}
	}
	if s := sodp.Dialect(42).String(); s != "Dialect(42)" {
		t.Errorf("sodp.Dialect(42).String() = %q", s)
	}
	if _, err := sodp.ParseDialect("cobol"); err == nil {
		t.Error("ParseDialect(cobol) did not fail")
	}
}

func TestHello(t *testing.T) {
	forDialects(t, func(t *testing.T, d sodp.Dialect) {
		srv := newServer(t, WithDialect(d), WithAuth([]byte("k")))
		c := dial(t, srv)
		h := c.hello.f.Body.(*wire.Hello)
		raw := c.hello.body()
		if !h.Auth {
			t.Error("auth:false with WithAuth")
		}
		if c.hello.f.Seq != 1 {
			t.Errorf("HELLO seq %d, want 1", c.hello.f.Seq)
		}
		caps := h.Capabilities
		switch d {
		case sodp.DialectSpec, sodp.DialectTS:
			want := map[sodp.Dialect]string{sodp.DialectSpec: "sodptest", sodp.DialectTS: "sodp-server-ts"}[d]
			if h.Protocol != "sodp" || h.Version != "1.0" || h.Server != want || h.ServerID != "" {
				t.Errorf("HELLO %+v", h)
			}
		case sodp.DialectGo:
			if h.Protocol != "sodp" || h.Version != "1.0" || h.ServerID != "sodptest-go" {
				t.Errorf("HELLO %+v", h)
			}
			if _, ok := raw["server"]; ok {
				t.Error("Go HELLO has a server field")
			}
			for _, k := range []string{"max_sessions", "max_watches", "rate_limit", "backpressure", "jwt"} {
				if _, ok := caps[k]; !ok {
					t.Errorf("Go capabilities lack %q: %v", k, caps)
				}
			}
			// On an auth server jwt names the algorithm.
			if caps["jwt"] != "hs256" {
				t.Errorf("Go capabilities.jwt = %#v, want \"hs256\"", caps["jwt"])
			}
		case sodp.DialectRust:
			if _, ok := raw["protocol"]; ok {
				t.Error("Rust HELLO has a protocol field")
			}
			if h.Version != "0.1" || h.Server != "SODP-RS" {
				t.Errorf("HELLO %+v", h)
			}
			if v, ok := caps["rate_limit_writes"]; !ok || v != nil {
				t.Errorf("Rust rate limit capability = %v, %v; want present and nil", v, ok)
			}
		}
		// Integer widths: the Go server writes the header in fixed widths.
		wantHead := []byte{0x94, 0x01, 0x00, 0x01}
		if d == sodp.DialectGo {
			wantHead = []byte{0x94, 0xcc, 0x01, 0xce, 0, 0, 0, 0, 0xcf, 0, 0, 0, 0, 0, 0, 0, 1}
		}
		if !bytes.HasPrefix(c.hello.raw, wantHead) {
			t.Errorf("HELLO starts % x, want % x", c.hello.raw[:len(wantHead)], wantHead)
		}
	})
}

func TestDefaultsPerDialect(t *testing.T) {
	cases := []struct {
		d   sodp.Dialect
		hb  time.Duration
		max int64
	}{
		{sodp.DialectSpec, 30 * time.Second, 1 << 20},
		{sodp.DialectGo, 30 * time.Second, 64 << 10},
		{sodp.DialectTS, 30 * time.Second, 1 << 20},
		{sodp.DialectRust, 25 * time.Second, 1 << 20},
	}
	for _, tc := range cases {
		srv := newServer(t, WithDialect(tc.d))
		if srv.heartbeat != tc.hb || srv.maxMessage != tc.max {
			t.Errorf("%s: heartbeat %v, max %d; want %v, %d", tc.d, srv.heartbeat, srv.maxMessage, tc.hb, tc.max)
		}
	}
	srv := newServer(t, WithDialect(sodp.DialectRust), WithHeartbeat(time.Second), WithMaxMessageSize(10))
	if srv.heartbeat != time.Second || srv.maxMessage != 10 {
		t.Errorf("options not applied: %v %d", srv.heartbeat, srv.maxMessage)
	}
}

func TestPathsAndClose(t *testing.T) {
	srv := NewServer()
	if !strings.HasPrefix(srv.URL, "ws://127.0.0.1:") {
		t.Errorf("URL %q", srv.URL)
	}
	a := dial(t, srv)
	b := dial(t, srv, withPath("/sodp"))
	if got := httpStatus(t, srv.URL+"/other"); got != http.StatusNotFound {
		t.Errorf("/other: status %d, want 404", got)
	}
	if err := srv.WaitConns(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	conns := srv.Conns()
	if len(conns) != 2 || conns[0].ID() != 1 || conns[1].ID() != 2 {
		t.Fatalf("Conns() = %v", conns)
	}
	srv.Close()
	srv.Close()
	a.expectAbruptClose()
	b.expectAbruptClose()
	if got := httpStatus(t, srv.URL); got == http.StatusSwitchingProtocols {
		t.Error("dial after Close succeeded")
	}
	if st := srv.Stats(); st.Live != 0 || st.Connections != 2 {
		t.Errorf("stats after Close: %+v", st)
	}
}

func TestWaitConns(t *testing.T) {
	srv := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := srv.WaitConns(ctx, 1); err == nil {
		t.Fatal("WaitConns without a connection returned nil")
	}
	done := make(chan error, 1)
	go func() { done <- srv.WaitConns(context.Background(), 2) }()
	dial(t, srv)
	dial(t, srv)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("WaitConns did not return")
	}
}

type player struct {
	Name  string   `msgpack:"name"`
	Score int      `msgpack:"score"`
	Tags  []string `msgpack:"tags"`
}

func TestServerSideAPI(t *testing.T) {
	srv := newServer(t)
	if v, ver, ok := srv.Get("never"); v != nil || ver != 0 || ok {
		t.Errorf("Get(never) = %v %d %v", v, ver, ok)
	}
	if v := srv.Delete("never"); v != 0 {
		t.Errorf("Delete(never) = %d", v)
	}
	if v := srv.Set("p", player{Name: "ann", Score: 3, Tags: []string{"a"}}); v != 1 {
		t.Errorf("Set version %d", v)
	}
	v, ver, ok := srv.Get("p")
	want := map[string]any{"name": "ann", "score": int64(3), "tags": []any{"a"}}
	if !ok || ver != 1 || !deltaEqual(v, want) {
		t.Errorf("Get(p) = %#v %d %v", v, ver, ok)
	}
	if ver := srv.Patch("p", map[string]any{"score": 4, "extra": nil}); ver != 2 {
		t.Errorf("Patch version %d", ver)
	}
	v, _, _ = srv.Get("p")
	want = map[string]any{"name": "ann", "score": int64(4), "tags": []any{"a"}, "extra": nil}
	if !deltaEqual(v, want) {
		t.Errorf("after Patch: %#v", v)
	}
	if ver, err := srv.SetIn("p", "/tags/-", "b"); err != nil || ver != 3 {
		t.Errorf("SetIn append: %d %v", ver, err)
	}
	if ver, err := srv.SetIn("q", "/a/b", 1); err != nil || ver != 4 {
		t.Errorf("SetIn on a new key: %d %v", ver, err)
	}
	v, _, _ = srv.Get("q")
	if !deltaEqual(v, map[string]any{"a": map[string]any{"b": int64(1)}}) {
		t.Errorf("SetIn created %#v", v)
	}
	if _, err := srv.SetIn("q", "a/b", 1); err == nil {
		t.Error("SetIn with a malformed pointer succeeded")
	}
	if _, err := srv.SetIn("p", "/tags/7", 1); err == nil {
		t.Error("SetIn past the end of an array succeeded")
	}
	if ver := srv.Delete("p"); ver != 5 {
		t.Errorf("Delete version %d", ver)
	}
	if v, ver, ok := srv.Get("p"); v != nil || ver != 5 || ok {
		t.Errorf("Get after Delete = %v %d %v", v, ver, ok)
	}
	if ver := srv.Delete("p"); ver != 5 {
		t.Errorf("second Delete = %d, want the unchanged 5", ver)
	}
	// An unchanged value still takes a version.
	srv.Set("same", 1)
	if a, b := srv.Set("same", 1), srv.Set("same", 1); b != a+1 {
		t.Errorf("versions %d, %d", a, b)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Set with an unencodable value did not panic")
			}
		}()
		srv.Set("bad", make(chan int))
	}()
}

func TestToken(t *testing.T) {
	srv := newServer(t, WithAuth([]byte("secret")))
	tok := srv.Token("alice", time.Minute)
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q", tok)
	}
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	pb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var hdr, claims map[string]any
	if json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(pb, &claims) != nil {
		t.Fatalf("token parts do not decode")
	}
	if hdr["alg"] != "HS256" || claims["sub"] != "alice" || claims["exp"] == nil || claims["iat"] == nil {
		t.Errorf("header %v claims %v", hdr, claims)
	}
	now := time.Now()
	if sub, exp, err := verifyHS256([]byte("secret"), tok, now); err != nil || sub != "alice" || exp.Sub(now) < 59*time.Second {
		t.Errorf("verify: %q %v %v", sub, exp, err)
	}
	bad := []string{
		"", "a.b", "x.y.z",
		srv.Token("alice", -time.Second),
		signHS256([]byte("other"), map[string]any{"sub": "a", "exp": 1e11}),
		srv.TokenClaims(map[string]any{"exp": 1e11}),
		srv.TokenClaims(map[string]any{"sub": "a"}),
		srv.TokenClaims(map[string]any{"sub": "a", "exp": "soon"}),
		base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none"}`)) + "." + parts[1] + ".",
	}
	for _, b := range bad {
		if _, _, err := verifyHS256([]byte("secret"), b, now); err == nil {
			t.Errorf("token %q accepted", b)
		}
	}
}

func TestLogger(t *testing.T) {
	var buf testutil.SyncBuffer
	srv := NewServer(WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	c := dial(t, srv)
	srv.Set("k", 1)
	c.closeNormally()
	srv.Close()
	out := buf.String()
	for _, want := range []string{"listening", "connection opened", "mutation", "connection closed", "closed"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestReceivedAndStats(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv)
	c.send(wire.TypeHeartbeat, 0, nil)
	c.watch(10, "k")
	c.expect(wire.TypeHeartbeat)
	c.expect(wire.TypeStateInit)
	c.callOK("state.set", map[string]any{"state": "k", "value": 1})
	c.send(wire.TypeResume, 11, &wire.Resume{State: "k", SinceVersion: 0})
	c.send(wire.TypeUnwatch, 0, &wire.Unwatch{State: "k"})
	c.sendRaw([]byte{0xc1})
	c.writeMessage(1, []byte("text"))
	got := c.barrier()
	names := []string{}
	for _, r := range got {
		names = append(names, r.f.Type.String())
	}
	// DELTA (own write), RESULT consumed by callOK; RESUME: DELTA + STATE_INIT; two ERROR 400.
	if want := "DELTA STATE_INIT ERROR ERROR"; strings.Join(names, " ") != want {
		t.Errorf("frames %v, want %s", names, want)
	}
	rec := srv.Received()
	var recNames []string
	for _, f := range rec {
		recNames = append(recNames, f.Name)
	}
	want := "HEARTBEAT WATCH CALL RESUME UNWATCH   WATCH"
	if strings.Join(recNames, " ") != want {
		t.Fatalf("Received names %q, want %q", strings.Join(recNames, " "), want)
	}
	if rec[1].Type != 0x02 || rec[1].Stream != 10 || rec[1].Seq != 2 || rec[1].Body["state"] != "k" || rec[1].Err != nil {
		t.Errorf("WATCH recorded as %+v", rec[1])
	}
	if rec[0].Body != nil {
		t.Errorf("HEARTBEAT body %v", rec[0].Body)
	}
	if args, _ := rec[2].Body["args"].(map[string]any); args["value"] != int64(1) {
		t.Errorf("CALL body %v", rec[2].Body)
	}
	if rec[5].Err == nil || !bytes.Equal(rec[5].Raw, []byte{0xc1}) {
		t.Errorf("garbage recorded as %+v", rec[5])
	}
	if !rec[6].Text || rec[6].Err == nil {
		t.Errorf("text message recorded as %+v", rec[6])
	}
	if n := len(connOf(t, srv).Received()); n != len(rec) {
		t.Errorf("Conn.Received has %d frames, want %d", n, len(rec))
	}
	st := srv.Stats()
	if st.Connections != 1 || st.Live != 1 || st.Watches != 2 || st.Resumes != 1 || st.Unwatches != 1 ||
		st.Calls != 1 || st.HeartbeatsReceived != 1 || st.Errors != 2 || st.BadFrames != 2 ||
		st.Mutations != 1 || st.Subscriptions != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestMaxRecorded(t *testing.T) {
	srv := newServer(t, WithMaxRecorded(2))
	c := dial(t, srv)
	for range 5 {
		c.send(wire.TypeHeartbeat, 0, nil)
	}
	c.barrier()
	if n := len(srv.Received()); n != 2 {
		t.Errorf("Received keeps %d frames, want 2", n)
	}
	if last := srv.Received()[1]; last.Name != "WATCH" {
		t.Errorf("newest recorded frame is %s", last.Name)
	}
}

func TestWithAddr(t *testing.T) {
	srv := newServer(t, WithAddr("127.0.0.1:0"))
	dial(t, srv).expectNothing()
	defer func() {
		if r := recover(); r == nil {
			t.Error("NewServer on an address it cannot listen on did not panic")
		}
	}()
	NewServer(WithAddr("256.0.0.1:1"))
}

func TestDeltaLogOff(t *testing.T) {
	srv := newServer(t, WithDeltaLog(0))
	srv.Set("k", 1)
	srv.Set("k", 2)
	c := dial(t, srv)
	c.send(wire.TypeResume, 10, &wire.Resume{State: "k", SinceVersion: 1})
	got := c.barrier()
	if len(got) != 1 || got[0].f.Type != wire.TypeStateInit {
		t.Errorf("RESUME without a log: %v, want STATE_INIT only", got)
	}
}
