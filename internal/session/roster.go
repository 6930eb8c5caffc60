package session

// roster is the actor's tally of the subscriptions: how many are attached
// (added and not yet detached; each is among the subscribers of one key at
// least), and those whose mailbox stopped taking updates, held until the
// message being handled is done and they are released. It is the actor's.
type roster struct {
	attached int
	ending   []*Subscriber
}

// added counts a subscription added.
func (r *roster) added() { r.attached++ }

// detached counts a subscription detached.
func (r *roster) detached() { r.attached-- }

// end holds sub, whose mailbox stopped taking updates, for release.
func (r *roster) end(sub *Subscriber) { r.ending = append(r.ending, sub) }

// release hands each subscription held by end to detach, in the order
// they were held, and forgets them, keeping the slice for the next ones.
func (r *roster) release(detach func(*Subscriber)) {
	for i, sub := range r.ending {
		r.ending[i] = nil
		detach(sub)
	}
	r.ending = r.ending[:0]
}
