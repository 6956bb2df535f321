// Package storetest checks that an apikeys.Store keeps the contract the
// Manager relies on. The in-memory and SQL stores of this module run it; a
// custom Store should too:
//
//	func TestMyStore(t *testing.T) {
//		storetest.Run(t, storetest.Harness{
//			New: func(t *testing.T) apikeys.Store { return newMyStore(t) },
//			Dump: func(t *testing.T, s apikeys.Store) []byte { return dumpAllRows(t, s) },
//		})
//	}
package storetest
