package session

import (
	"context"
	"fmt"
	"slices"
)

// Changing the keys of a live subscription.
//
// AddKeys and RemoveKeys run on the actor, as Subscribe does: a key added
// that another subscription watches is given its cached value at once
// (KindCached), the others go out in one WATCH frame (several past the
// multi-key chunk size); the keys removed that no other subscription
// watches go out in one UNWATCH frame. sub.Keys is replaced, never
// changed in place, and only on the actor, by commit: the owner sets it
// under the lock its own readers of the list take.

// AddKeys adds keys (valid, and not already among sub's) to sub, a live
// subscription of whole values, with params for the keys no other
// subscription watches. Keys past the server's max_watches are refused as
// Subscribe refuses them; when none fits, nothing changes and the error
// is returned.
func (s *Session) AddKeys(ctx context.Context, sub *Subscriber, keys []string, params map[string]any, commit func([]string)) error {
	var err error
	derr := s.do(ctx, func() {
		if err = s.rekeyable(sub); err != nil {
			return
		}
		have := keySet(sub.Keys, len(keys))
		var add []string
		for _, k := range keys {
			if !have[k] {
				have[k] = true
				add = append(add, k)
			}
		}
		if len(add) == 0 {
			return
		}
		refuse, lerr := s.overWatchLimit(add)
		if lerr != nil {
			err = lerr
			return
		}
		s.setKeys(sub, append(slices.Clip(sub.Keys), add...), commit)
		s.addKeys(sub, add, params, refuse)
	})
	if derr != nil {
		return derr
	}
	return err
}

// RemoveKeys removes keys from sub; keys it does not watch are ignored.
// It refuses to remove every key sub still watches (those the server
// refused do not count): sub would be left with none. Updates of
// the removed keys still waiting in sub's mailbox are dropped, and a
// subscriber keeping its own copies is told to drop theirs (KindForget).
func (s *Session) RemoveKeys(ctx context.Context, sub *Subscriber, keys []string, commit func([]string)) error {
	var err error
	derr := s.do(ctx, func() {
		if err = s.rekeyable(sub); err != nil {
			return
		}
		have := keySet(sub.Keys, 0)
		drop := make(map[string]bool, len(keys))
		for _, k := range keys {
			if have[k] {
				drop[k] = true
			}
		}
		if len(drop) == 0 {
			return
		}
		refused := 0 // sub was taken out of those keys when they were refused
		for k := range drop {
			if ks := s.keys[k]; ks == nil || !ks.subs.has(sub) {
				refused++
			}
		}
		if len(drop)-refused == len(sub.Keys)-int(sub.refused) {
			err = fmt.Errorf("%w: RemoveKeys would leave the subscription no key it watches (Close it instead)", ErrInvalidKey)
			return
		}
		keep := make([]string, 0, len(sub.Keys)-len(drop))
		for _, k := range sub.Keys {
			if !drop[k] {
				keep = append(keep, k)
			}
		}
		sub.refused -= int32(refused)
		var gone []string
		for k := range drop {
			ks := s.keys[k]
			if ks == nil || !ks.subs.has(sub) {
				continue
			}
			ks.subs.remove(sub)
			if ks.subs.len() == 0 {
				s.dropKey(ks, ErrClosed)
				if ks.onServer() {
					gone = append(gone, k)
				}
			}
		}
		s.setKeys(sub, keep, commit)
		sub.Mailbox.forget(drop, sub.ownCopy)
		slices.Sort(gone)
		s.sendUnwatch(gone)
		s.publishGauges()
	})
	if derr != nil {
		return derr
	}
	return err
}

// setKeys makes keys sub's: through commit, which must set sub.Keys to
// them (under the lock its other readers take), or directly.
func (s *Session) setKeys(sub *Subscriber, keys []string, commit func([]string)) {
	if commit == nil {
		sub.Keys = keys
		return
	}
	commit(keys)
}

// rekeyable says why sub's keys cannot change, if they cannot.
func (s *Session) rekeyable(sub *Subscriber) error {
	switch {
	case s.ph == phClosed:
		return ErrClosed
	case s.ph == phFailed:
		return s.pub.failErr
	case sub.removed || !sub.Mailbox.Live():
		return fmt.Errorf("%w: the subscription has ended", ErrClosed)
	case sub.Part != nil:
		return fmt.Errorf("%w: a subscription of a part watches one key", ErrInvalidKey)
	}
	return nil
}

// forget drops the pending updates of keys and, when marks is set, queues
// a KindForget for each of them (past the buffer's bound: they replace
// what was dropped, and carry nothing). Call it only on the actor.
func (m *Mailbox) forget(keys map[string]bool, marks bool) {
	m.mu.Lock()
	if m.err != nil || m.drained != nil {
		m.mu.Unlock()
		return
	}
	n := m.head
	for i := m.head; i < len(m.queue); i++ {
		if !keys[m.queue[i].Key] {
			m.queue[n] = m.queue[i]
			n++
		}
	}
	clear(m.queue[n:])
	m.queue = m.queue[:n]
	if m.index != nil {
		m.index = nil
		if len(m.queue)-m.head > 1 {
			m.reindex()
		}
	}
	if !marks {
		m.mu.Unlock()
		return
	}
	for k := range keys {
		m.queue = append(m.queue, Delivery{Key: k, Kind: KindForget})
	}
	idle := !m.running
	m.running = true
	m.mu.Unlock()
	if idle && m.owner != nil {
		m.owner.startPump()
	}
}

// keySet returns the keys as a set, with room for extra more: checking a
// list of keys against a subscription's costs one pass over each, not a
// search of one per key of the other.
func keySet(keys []string, extra int) map[string]bool {
	set := make(map[string]bool, len(keys)+extra)
	for _, k := range keys {
		set[k] = true
	}
	return set
}
