// Package delta implements the value side of SODP deltas: JSON Pointer
// handling, applying ADD/UPDATE/REMOVE ops to a cached value,
// and computing the ops that turn one value into another.
//
// # Values
//
// Values are normalised trees built only from nil, bool, int64, uint64 (for
// integers above math.MaxInt64), float64, string, []any and map[string]any.
// A nil map[string]any is an object without fields and a nil []any is an
// array without elements. Any other Go type found in a tree is an opaque
// scalar: it is never descended into, and [Equal] compares it with
// reflect.DeepEqual.
//
// Values are immutable once they have been handed out. [Apply] never changes
// its input or anything reachable from it: it copies the containers on the
// changed path and shares everything else with the input (copy on write), so
// the cost of an op follows the length of its path and the sizes of the
// containers on that path, not the size of the whole value. Callers must
// treat results the same way: a result shares most of its containers with the
// input and with the values in the ops, so none of them may be changed
// afterwards. Go's append on an array taken out of a result is safe: every
// array that Apply creates has a capacity equal to its length, so append
// copies it. (Large arrays that Apply allocates do keep spare room behind
// their elements, out of reach of every slice header; a later Apply fills it
// in place only when no existing value can see the slot, and copies
// otherwise.)
//
// A client's cached copy is mostly held by the client alone. An [Owner]
// applies deltas to such a copy changing in place the containers it copied
// or allocated itself and that nobody has been given since, and copies a
// container again only on the first write after it was handed out (see
// [Owner.Freeze]): a delta on one entry of a 10,000-entry map then costs
// what that entry costs, not a copy of the map.
//
// All functions are safe for concurrent use, including several concurrent
// Apply calls on the same input value. An Owner is used by one goroutine.
package delta

import (
	"errors"
	"fmt"
)

// Op kinds as they appear on the wire. The comparison is case-sensitive: "add"
// is an unknown op.
const (
	OpAdd    = "ADD"
	OpUpdate = "UPDATE"
	OpRemove = "REMOVE"
)

// Op is one delta operation. Path is a JSON Pointer (see [ParsePointer]).
// Value is the value to set for ADD and UPDATE; a value missing on the wire is
// nil. Value is ignored for REMOVE.
type Op struct {
	Op    string
	Path  string
	Value any
}

// Errors returned by this package. Every error from [Apply] is an *[OpError]
// that wraps one of them; every error from [ParsePointer] wraps
// ErrBadPointer. Test for them with errors.Is.
var (
	// ErrUnknownOp: the op is not exactly "ADD", "UPDATE" or "REMOVE".
	ErrUnknownOp = errors.New("delta: unknown op")
	// ErrBadPointer: the path does not start with "/" (and is not ""),
	// contains a "~" that is not followed by "0" or "1", or has more than
	// MaxPathDepth segments.
	ErrBadPointer = errors.New("delta: bad JSON pointer")
	// ErrIndex: a segment that addresses an array element is not "-" and not
	// a decimal index without sign and leading zeros, or the index is out of
	// range for the operation.
	ErrIndex = errors.New("delta: bad array index")
	// ErrLimit: the ops would create more new objects and arrays than the
	// caller allowed (see ApplyStateLimit).
	ErrLimit = errors.New("delta: over a limit")
)

// MaxPathDepth is the most segments a path may have, as deep as a value
// may nest on the wire.
const MaxPathDepth = 512

// shortPath is p cut to a length fit for an error message.
func shortPath(p string) string {
	if len(p) <= 120 {
		return p
	}
	return p[:120] + fmt.Sprintf("… (%d bytes)", len(p))
}

// OpError reports which op of an [Apply] call failed and why. Err wraps one
// of ErrUnknownOp, ErrBadPointer or ErrIndex; OpError unwraps to it, so
// errors.Is(err, ErrIndex) works on the error returned by Apply.
type OpError struct {
	Index int   // position of the failing op in the list given to Apply
	Op    Op    // the failing op
	Err   error // the cause
}

// Error describes the failure, the position of the op, its kind and path.
func (e *OpError) Error() string {
	return fmt.Sprintf("%v (op %d: %s %q)", e.Err, e.Index, e.Op.Op, shortPath(e.Op.Path))
}

// Unwrap returns the cause, e.Err.
func (e *OpError) Unwrap() error { return e.Err }

// detailError adds a description to one of the sentinel errors.
type detailError struct {
	kind error
	msg  string
}

func (e *detailError) Error() string { return e.kind.Error() + ": " + e.msg }
func (e *detailError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &detailError{kind: kind, msg: fmt.Sprintf(format, args...)}
}
