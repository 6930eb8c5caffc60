package session

import "github.com/sodp-go/client/internal/wire"

// Routing by stream id. A STATE_INIT or DELTA usually names its key, and
// the name decides; one server's DELTAs name none (the Rust server), and
// then the stream id says which key a frame is for. The client proposes an
// id with each WATCH and RESUME, but servers may answer on ids of their
// own: the TypeScript and Rust servers number their streams 10, 11, … per
// connection, one per subscription they make and none for a request they
// refuse (by ACL or rate limit), so after a refusal their ids fall behind
// the ones the client proposed; the Go server answers every key of a
// multi-key WATCH on the frame's one id. The id of the STATE_INIT that
// answers a key's WATCH or RESUME is therefore the binding that counts.

// streamMap binds the stream ids of one connection to keys, each id to one
// key, and numbers the ids the client proposes. keyState.stream is the id a
// key was last bound to; the binding holds while the map agrees (another
// key may have taken the id since). The zero value is ready to use.
type streamMap struct {
	ids  map[uint32]string
	next uint32 // the id alloc proposes next; below FirstSubscriptionStream: that one
}

// key returns the key bound to id, "" when none is.
func (m *streamMap) key(id uint32) string { return m.ids[id] }

// len returns how many ids are bound.
func (m *streamMap) len() int { return len(m.ids) }

// alloc binds the next id the client proposes to ks, as bind does, and
// returns it: FirstSubscriptionStream after a reset, then one more each.
func (m *streamMap) alloc(ks *keyState) uint32 {
	if m.next < wire.FirstSubscriptionStream {
		m.next = wire.FirstSubscriptionStream
	}
	id := m.next
	m.next++
	m.bind(ks, id)
	return id
}

// bind binds id to ks, taking it from whichever key held it, and releases
// the id ks held. It serves the id the client proposes in a WATCH or
// RESUME, and the id of the STATE_INIT that answers one: the server chose
// that one, and the key it was taken from gets its own with its answer.
func (m *streamMap) bind(ks *keyState, id uint32) {
	m.unbind(ks)
	ks.stream = id
	if m.ids == nil {
		m.ids = make(map[uint32]string)
	}
	m.ids[id] = ks.key
}

// unbind releases the id bound to ks, if ks still holds it.
func (m *streamMap) unbind(ks *keyState) {
	if ks.stream != 0 && m.ids[ks.stream] == ks.key {
		delete(m.ids, ks.stream)
	}
	ks.stream = 0
}

// bindFree binds id to ks only when no other key holds it: the stream of
// a STATE_INIT that answers no request must not take another key's
// stream over.
func (m *streamMap) bindFree(ks *keyState, id uint32) {
	if k := m.ids[id]; k == "" || k == ks.key {
		m.bind(ks, id)
	}
}

// clear releases every binding (the connection ended); the numbering goes
// on.
func (m *streamMap) clear() { clear(m.ids) }

// reset releases every binding and numbers from FirstSubscriptionStream
// again: a new connection's streams.
func (m *streamMap) reset() {
	clear(m.ids)
	m.next = wire.FirstSubscriptionStream
}
