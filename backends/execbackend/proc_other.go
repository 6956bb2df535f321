//go:build !unix

package execbackend

import osexec "os/exec"

// setProcessGroup keeps os/exec's default: the program alone is killed.
func setProcessGroup(*osexec.Cmd) {}
