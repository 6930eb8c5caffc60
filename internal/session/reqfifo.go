package session

import "time"

// requestFIFO is the FIFO of the requests sent on one connection and not
// yet answered (see requests.go), in send order, each numbered. It is the
// actor's.
type requestFIFO struct {
	list []*request // oldest first
	seq  uint64     // the number of the last request sent
}

// add numbers r, sent at now, and queues it last.
func (q *requestFIFO) add(r *request, now time.Time) {
	q.seq++
	r.seq, r.sentAt = q.seq, now
	q.list = append(q.list, r)
}

// cut takes the n oldest requests out.
func (q *requestFIFO) cut(n int) {
	m := copy(q.list, q.list[n:])
	clear(q.list[m:])
	q.list = q.list[:m]
}

// removeWhere takes out, in one pass, the requests for which gone (given
// each one's index and itself) is true, and returns them oldest first.
func (q *requestFIFO) removeWhere(gone func(i int, r *request) bool) (removed []*request) {
	out := q.list[:0]
	for i, r := range q.list {
		if gone(i, r) {
			removed = append(removed, r)
		} else {
			out = append(out, r)
		}
	}
	clear(q.list[len(out):])
	q.list = out
	return removed
}

// call returns the index of the call with id, -1 when none waits.
func (q *requestFIFO) call(id string) int {
	for i, r := range q.list {
		if r.kind == reqCall && r.call.id == id {
			return i
		}
	}
	return -1
}

// reset empties the FIFO for a new connection; the numbering goes on.
func (q *requestFIFO) reset() { q.list = nil }
