package wire

// DecodeValue is decodeValue, for the tests of package wire_test.
var DecodeValue = decodeValue
