package sodptest

import (
	"bytes"
	"errors"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/wire"
)

// handleMessage records and handles one inbound message on the reader
// goroutine. Requests are answered in the order they arrive.
func (c *Conn) handleMessage(mt int, data []byte) {
	s := c.s
	s.record(c, decodeRecord(mt, data))
	if mt != websocket.BinaryMessage {
		c.badFrame(0, "binary messages only")
		return
	}
	f, err := wire.Decode(data)
	if err != nil {
		c.badFrame(f.Stream, err.Error())
		return
	}
	switch f.Type {
	case wire.TypeHeartbeat:
		c.onHeartbeat()
		return
	case wire.TypeAuth:
		c.onAuth(f)
		return
	case wire.TypeWatch:
		s.count(func(st *Stats) { st.Watches++ })
	case wire.TypeResume:
		s.count(func(st *Stats) { st.Resumes++ })
	case wire.TypeUnwatch:
		s.count(func(st *Stats) { st.Unwatches++ })
	case wire.TypeCall:
		s.count(func(st *Stats) { st.Calls++ })
	default:
		c.badFrame(f.Stream, "unexpected "+f.Type.String()+" frame from a client")
		return
	}
	if s.cfg.secret != nil && !c.authed {
		c.refuse(s.tr.beforeAuth, 401, "authentication required")
		return
	}
	if f.Type == wire.TypeCall {
		c.flushAnswers()
	}
	switch f.Type {
	case wire.TypeWatch:
		c.onWatch(f)
	case wire.TypeResume:
		c.onResume(f, data)
	case wire.TypeUnwatch:
		c.onUnwatch(f)
	case wire.TypeCall:
		c.onCall(f)
	}
}

// sendError queues an ERROR frame.
func (c *Conn) sendError(stream uint32, code int, msg string) {
	c.sendFrame(errorFrame(stream, code, msg))
}

// refuse answers with an ERROR on stream 0 and then, per mode, keeps,
// closes (code 1008) or drops the connection.
func (c *Conn) refuse(mode closeMode, code int, msg string) {
	if mode == stayOpen {
		c.sendError(0, code, msg)
		return
	}
	c.closeAfter(mode, websocket.ClosePolicyViolation, msg, errorFrame(0, code, msg))
}

func (c *Conn) badFrame(stream uint32, msg string) {
	c.s.count(func(st *Stats) { st.BadFrames++ })
	if c.s.tr.ignoreBadFrames {
		c.s.log.Debug("sodptest: bad frame ignored", "conn", c.id, "err", msg)
		return
	}
	c.sendError(stream, 400, "bad frame: "+msg)
}

// errStream is the stream for an error about a WATCH/RESUME request.
func (c *Conn) errStream(stream uint32) uint32 {
	if c.s.tr.errStream0 {
		return 0
	}
	return stream
}

// nilBody handles WATCH, RESUME and UNWATCH frames without a body.
func (c *Conn) nilBody(f wire.Frame) {
	if c.s.tr.nilBodyCrash {
		c.s.log.Error("sodptest: nil body crashes the TypeScript server: dropping every connection",
			"conn", c.id, "frame", f.Type.String())
		c.s.dropAll()
		return
	}
	c.sendError(c.errStream(f.Stream), 400, f.Type.String()+" needs a body")
}

func (c *Conn) onHeartbeat() {
	c.s.count(func(st *Stats) { st.HeartbeatsReceived++ })
	if c.s.tr.live == liveClientHeartbeat {
		c.extendLiveness()
	}
	if c.s.tr.echo {
		c.sendFrame(wire.Frame{Type: wire.TypeHeartbeat})
	}
}

func (c *Conn) onAuth(f wire.Frame) {
	s := c.s
	s.count(func(st *Stats) { st.Auths++ })
	if s.cfg.secret == nil {
		s.log.Debug("sodptest: AUTH ignored, authentication is off", "conn", c.id)
		return
	}
	var token string
	if b, ok := f.Body.(*wire.Auth); ok {
		token = b.Token
	}
	if token == "" {
		s.count(func(st *Stats) { st.AuthFailures++ })
		s.log.Info("sodptest: auth refused", "conn", c.id, "err", "missing token")
		c.refuse(s.tr.missingToken, s.tr.missingTokenCode, "missing token")
		return
	}
	sub, exp, err := verifyHS256(s.cfg.secret, token, time.Now())
	if err != nil {
		s.count(func(st *Stats) { st.AuthFailures++ })
		s.log.Info("sodptest: auth refused", "conn", c.id, "err", err)
		c.refuse(s.tr.authFail, 401, "unauthorized: "+err.Error())
		return
	}
	c.authed = true
	c.mu.Lock()
	c.sub = sub
	if s.tr.liveExpiry {
		c.expiry = exp
	}
	c.mu.Unlock()
	s.log.Info("sodptest: authenticated", "conn", c.id, "sub", sub)
	c.sendFrame(wire.Frame{Type: wire.TypeAuthOK, Body: &wire.AuthOK{Sub: sub}})
}

// checkKey validates a key and the read or write ACL; it returns 0 or the
// refusal's code and message.
func (c *Conn) checkKey(key string, write bool) (int, string) {
	if !wire.ValidKeySyntax(key) {
		return 400, "invalid key: " + key
	}
	if acl := c.s.cfg.acl; acl != nil && !acl(c.Sub(), key, write) {
		return 403, c.s.tr.aclMessage(key)
	}
	return 0, ""
}

// pickStream chooses a subscription's stream id; own means "the
// connection's next own id, if a new subscription is made".
func (c *Conn) pickStream(frameStream uint32, multi bool) (stream uint32, own bool) {
	switch c.s.tr.streams {
	case streamClient:
		return frameStream, false
	case streamOwn:
		return 0, true
	}
	if !multi && frameStream >= wire.FirstSubscriptionStream {
		return frameStream, false
	}
	return c.allocStream(), false
}

func (c *Conn) onWatch(f wire.Frame) {
	b, _ := f.Body.(*wire.Watch)
	if b == nil {
		c.nilBody(f)
		return
	}
	if !c.watchBucket.take() {
		c.s.count(func(st *Stats) { st.RateLimited++ })
		c.sendError(c.errStream(f.Stream), 429, "rate limited")
		return
	}
	c.answer(func() { c.watchKeys(f, b) })
}

// watchKeys subscribes the keys of an accepted WATCH and answers it.
func (c *Conn) watchKeys(f wire.Frame, b *wire.Watch) {
	s := c.s
	keys, multi := b.States, b.States != nil
	if !multi && b.State != "" {
		keys = []string{b.State}
	}
	if len(keys) == 0 {
		c.sendError(c.errStream(f.Stream), 400, "WATCH names no key")
		return
	}
	for _, key := range keys {
		stream, own := c.pickStream(f.Stream, multi)
		if code, msg := c.checkKey(key, false); code != 0 {
			c.sendError(c.errStream(stream), code, msg)
			if s.tr.multiStop {
				return
			}
			continue
		}
		s.mu.Lock()
		if !s.watchSlotLocked(c, key) {
			s.mu.Unlock()
			c.sendError(c.errStream(f.Stream), 429, "watch limit reached")
			return // the rest of the list is dropped
		}
		sub := s.subscribeLocked(c, key, stream, own)
		s.stateInitLocked(sub, b.Params)
		s.mu.Unlock()
	}
}

// watchSlotLocked reports whether c may subscribe to key under the watch
// limit; a refusal is counted. s.mu must be held.
func (s *Server) watchSlotLocked(c *Conn, key string) bool {
	limit := s.cfg.maxWatches
	if limit <= 0 || len(c.subs) < limit {
		return true
	}
	if s.tr.dedup {
		for _, sub := range c.subs {
			if sub.key == key {
				return true
			}
		}
	}
	s.count(func(st *Stats) { st.WatchLimited++ })
	return false
}

func (c *Conn) onResume(f wire.Frame, data []byte) {
	b, _ := f.Body.(*wire.Resume)
	if b == nil {
		c.nilBody(f)
		return
	}
	if !c.watchBucket.take() {
		c.s.count(func(st *Stats) { st.RateLimited++ })
		c.sendError(c.errStream(f.Stream), 429, "rate limited")
		return
	}
	c.answer(func() { c.resumeKey(f, b, data) })
}

// resumeKey subscribes the key of an accepted RESUME and answers it.
func (c *Conn) resumeKey(f wire.Frame, b *wire.Resume, data []byte) {
	s := c.s
	stream, own := c.pickStream(f.Stream, false)
	if code, msg := c.checkKey(b.State, false); code != 0 {
		c.sendError(c.errStream(stream), code, msg)
		return
	}
	since := b.SinceVersion
	if s.tr.since64Only && !since64(data) {
		since = 0
	}
	s.mu.Lock()
	if !s.watchSlotLocked(c, b.State) {
		s.mu.Unlock()
		c.sendError(c.errStream(f.Stream), 429, "watch limit reached")
		return
	}
	sub, replay, sent := s.resumeLocked(c, b.State, since, stream, own, b.Params)
	s.mu.Unlock()
	for i, e := range replay {
		if !sent {
			c.sendFrame(deltaFrame(sub.stream, b.State, e.version, e.ops))
		}
		if hook := s.cfg.replayHook; hook != nil {
			hook(b.State, i+1)
		}
	}
}

// since64 reports whether the RESUME's since_version is encoded as a 64-bit
// integer or a float, the only forms the Go server reads correctly.
func since64(data []byte) bool {
	for _, key := range [][]byte{
		append([]byte{0xad}, "since_version"...),
		append([]byte{0xd9, 13}, "since_version"...),
	} {
		if i := bytes.Index(data, key); i >= 0 && i+len(key) < len(data) {
			switch data[i+len(key)] {
			case 0xcf, 0xd3, 0xcb, 0xca:
				return true
			}
			return false
		}
	}
	return false
}

func (c *Conn) onUnwatch(f wire.Frame) {
	s := c.s
	if s.tr.unwatchByStream && f.Stream != 0 {
		s.mu.Lock()
		s.unsubscribeLocked(c, func(sub *subscription) bool { return sub.stream == f.Stream })
		s.mu.Unlock()
		return
	}
	b, _ := f.Body.(*wire.Unwatch)
	if b == nil {
		if s.tr.unwatchNilSilent {
			return
		}
		c.nilBody(f)
		return
	}
	keys := b.States
	if b.States == nil && b.State != "" {
		keys = []string{b.State}
	}
	if len(keys) == 0 {
		c.sendError(0, 400, "UNWATCH names no key")
		return
	}
	s.mu.Lock()
	s.unsubscribeLocked(c, func(sub *subscription) bool {
		for _, k := range keys {
			if sub.key == k {
				return true
			}
		}
		return false
	})
	s.mu.Unlock()
}

var knownMethods = map[string]bool{
	"state.set": true, "state.patch": true, "state.set_in": true,
	"state.delete": true, "state.presence": true, "state.append": true,
}

func (c *Conn) onCall(f wire.Frame) {
	s := c.s
	tr := s.tr
	b, _ := f.Body.(*wire.Call)
	if b == nil {
		c.sendError(0, 400, "CALL needs a body")
		return
	}
	if !c.writeBucket.take() {
		s.count(func(st *Stats) { st.RateLimited++ })
		c.callFail(b.CallID, 429, "rate limited")
		return
	}
	if c.customCall(b) {
		return
	}
	if !knownMethods[b.Method] {
		c.callFail(b.CallID, tr.unknownMethod, "unknown method: "+b.Method)
		return
	}
	if b.Method == "state.presence" && !tr.presence {
		c.callFail(b.CallID, 400, "state.presence is not supported")
		return
	}
	args := b.Args
	key, _ := args["state"].(string)
	if key == "" {
		c.callFail(b.CallID, 400, b.Method+`: "state" must name a key`)
		return
	}
	if code, msg := c.checkKey(key, true); code != 0 {
		c.callFail(b.CallID, code, msg)
		return
	}
	var (
		fn      mutation
		pointer string
	)
	switch b.Method {
	case "state.set":
		fn = setValue(args["value"])
	case "state.patch":
		p, ok := args["patch"].(map[string]any)
		if !ok {
			c.callFail(b.CallID, 400, `"patch" must be a map`)
			return
		}
		fn = patchValue(p, tr.deepPatch)
	case "state.set_in", "state.presence":
		path, ok := args["path"].(string)
		if !ok {
			c.callFail(b.CallID, 400, `"path" must be a string`)
			return
		}
		var segs []string
		if tr.dottedSetIn {
			segs = strings.Split(path, ".")
		} else {
			var err error
			if segs, err = delta.ParsePointer(path); err != nil {
				c.callFail(b.CallID, 400, err.Error())
				return
			}
		}
		fn, pointer = setAt(segs, args["value"]), delta.FormatPointer(segs)
	case "state.delete":
		fn = deleteKey
	case "state.append":
		fn = appendValue(args["value"])
	}
	result := func(v uint64) {
		r := &wire.Result{CallID: b.CallID, Success: true}
		if tr.resultVersion {
			r.Data = map[string]any{"version": v}
		}
		c.sendFrame(wire.Frame{Type: wire.TypeResult, Body: r})
	}
	var before func(uint64)
	if tr.resultFirst {
		before = result
	}
	v, err := s.mutate(key, fn, before)
	if errors.Is(err, errFrozen) {
		return // a node being killed answers nothing
	}
	if errors.Is(err, errUnchanged) {
		// No version was assigned: the answer says nothing about one.
		c.sendFrame(wire.Frame{Type: wire.TypeResult, Body: &wire.Result{CallID: b.CallID, Success: true, Data: map[string]any{}}})
		return
	}
	if err != nil {
		c.callFail(b.CallID, 400, err.Error())
		return
	}
	if b.Method == "state.presence" {
		s.mu.Lock()
		e := presenceEntry{key: key, pointer: pointer}
		if !containsPresence(c.presence, e) {
			c.presence = append(c.presence, e)
		}
		s.mu.Unlock()
	}
	if !tr.resultFirst {
		result(v)
	}
}

func containsPresence(l []presenceEntry, e presenceEntry) bool {
	for _, x := range l {
		if x == e {
			return true
		}
	}
	return false
}

// callFail reports a failed CALL in the dialect's form: an ERROR frame, or
// RESULT success:false whose data is the message string (with the code in
// "code").
func (c *Conn) callFail(callID string, code int, msg string) {
	tr := c.s.tr
	if tr.failAsError || (code == 429 && tr.rate429Error) {
		c.sendError(0, code, msg)
		return
	}
	c.sendFrame(wire.Frame{Type: wire.TypeResult, Body: &wire.Result{CallID: callID, Data: msg, Code: code}})
}
