//go:build unix

package execbackend

import (
	osexec "os/exec"
	"syscall"
)

// setProcessGroup runs the program in its own process group and signals the
// whole group on timeout, so a script's children stop with it.
func setProcessGroup(c *osexec.Cmd) {
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Cancel = func() error {
		return syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
	}
}
