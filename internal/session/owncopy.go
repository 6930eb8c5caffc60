package session

import (
	"fmt"

	"github.com/sodp-go/client/internal/delta"
)

// Subscribers with their own copy.
//
// A subscriber given every change (a buffered one, which never conflates)
// of a whole value may keep its own copy (Subscriber.KeepOwnCopy). The
// actor then queues it the ops of each delta instead of the value, and its
// pump keeps, in the subscriber's OwnCopies, a copy of each of its keys'
// values, to which it applies the ops before the Receiver is given the
// update. The actor need not freeze its
// cached copy for it, so a delta changes that copy in place instead of
// copying every container on its paths. The pump's copy changes in place
// too when its reader keeps nothing of the values (a type converted from
// them); when the reader keeps them as they are (Shared), each delta
// copies what it changes, as the actor would have done, but on the pump. Either way what is queued is the
// ops of each delta, not a version of the value.
//
// The two copies start as the same value (the snapshot, a resync or the
// cached value, which the pump's copy shares until it writes to it) and
// take the same ops in the same order, and applying ops depends on the
// value alone: they stay equal, and an apply that succeeded on the actor
// succeeds on the pump.

// ownCopy is a pump's copy of one key's value.
type ownCopy struct {
	value       any
	initialized bool
	own         delta.Owner
}

// OwnCopies are the copies of a subscriber that keeps its own, used by its
// pump alone (one pump runs at a time, and the mailbox orders one after
// the other). The zero OwnCopies is ready to use.
type OwnCopies struct {
	// Shared is set for a Receiver that hands out the values it is given
	// (an untyped reader, or a type that keeps parts of the value): no
	// value Resolve returns is changed afterwards, each delta copying
	// what it changes, and InPlace is not set. Unset, the copies change
	// in place.
	Shared bool
	one    ownCopy // the copy of the first key, for a subscriber of one key
	oneKey string  // "" while none: keys are never empty
	more   map[string]*ownCopy
}

func (c *OwnCopies) get(key string) *ownCopy {
	if c.oneKey == key {
		return &c.one
	}
	return c.more[key]
}

func (c *OwnCopies) set(key string, value any, initialized bool) {
	oc := c.get(key)
	switch {
	case oc != nil:
	case c.oneKey == "":
		c.oneKey = key
		oc = &c.one
	default:
		if c.more == nil {
			c.more = make(map[string]*ownCopy)
		}
		oc = new(ownCopy)
		c.more[key] = oc
	}
	oc.value, oc.initialized = value, initialized
	oc.own.Reset()
}

func (c *OwnCopies) drop(key string) {
	if c.oneKey == key {
		c.one, c.oneKey = ownCopy{}, ""
		return
	}
	delete(c.more, key)
}

// Resolve turns d, as queued for a subscriber that keeps its own copy,
// into the update it stands for: a value becomes the copy, the ops of a
// delta are applied to the copy; either way d then holds the copy, with
// InPlace set unless Shared is. Every delivery of the subscriber must pass
// through it, in order. A delta that does not apply to the copy (which holds what the
// client's cached copy held, so it always applies) gives an ErrDesync.
func (c *OwnCopies) Resolve(d Delivery) Delivery {
	switch {
	case d.Err != nil:
		c.drop(d.Key)
		return d
	case d.Ops == nil:
		c.set(d.Key, d.Value, d.Initialized)
		d.InPlace = !c.Shared
		return d
	}
	oc := c.get(d.Key)
	if oc == nil {
		return Delivery{Key: d.Key, Version: d.Version, Kind: d.Kind,
			Err: fmt.Errorf("%w: key %s: a change to version %d came before its value", ErrDesync, d.Key, d.Version)}
	}
	var v any
	var initialized bool
	var err error
	if c.Shared {
		// Every value given out is kept by the reader: the ops copy
		// what they change, as Apply does.
		v, initialized, err = delta.ApplyStateLimit(oc.value, oc.initialized, d.Ops, int(d.Limit))
	} else {
		v, initialized, err = oc.own.ApplyState(oc.value, oc.initialized, d.Ops, int(d.Limit))
	}
	if err != nil {
		c.drop(d.Key)
		return Delivery{Key: d.Key, Version: d.Version, Kind: d.Kind,
			Err: fmt.Errorf("%w: key %s: delta to version %d does not apply to the subscription's copy: %w", ErrDesync, d.Key, d.Version, err)}
	}
	oc.value, oc.initialized = v, initialized
	d.Value, d.Initialized, d.Changed = v, initialized, changedPaths(d.Ops)
	d.Ops, d.Limit, d.InPlace = nil, 0, !c.Shared
	return d
}
