// Package sodp declares, once, the types, constants and sentinel errors of
// the client's public API. The session makes and reports these values and
// the public package of the same name exposes them as aliases and values,
// so an error the session returns is the public error itself: nothing is
// copied or translated between the two. It carries the public package's
// name so that a value prints as that package's (%T of a *ServerError is
// "*sodp.ServerError").
//
// The documentation a user reads is the public package's; the comments
// here say what a maintainer needs.
package sodp
