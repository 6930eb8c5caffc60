package session

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
// key. keyState.stream is the id a key was last bound to; the binding holds
// while the map agrees (another key may have taken the id since).
type streamMap map[uint32]string

// key returns the key bound to id, "" when none is.
func (m streamMap) key(id uint32) string { return m[id] }

// bind binds id to ks, taking it from whichever key held it, and releases
// the id ks held. It serves the id the client proposes in a WATCH or
// RESUME, and the id of the STATE_INIT that answers one: the server chose
// that one, and the key it was taken from gets its own with its answer.
func (m streamMap) bind(ks *keyState, id uint32) {
	m.unbind(ks)
	ks.stream = id
	m[id] = ks.key
}

// unbind releases the id bound to ks, if ks still holds it.
func (m streamMap) unbind(ks *keyState) {
	if ks.stream != 0 && m[ks.stream] == ks.key {
		delete(m, ks.stream)
	}
	ks.stream = 0
}

// bindFree binds id to ks only when no other key holds it: the stream of
// a STATE_INIT that answers no request must not take another key's
// stream over.
func (m streamMap) bindFree(ks *keyState, id uint32) {
	if k := m[id]; k == "" || k == ks.key {
		m.bind(ks, id)
	}
}
