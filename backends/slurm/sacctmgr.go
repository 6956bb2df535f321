package slurm

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Client runs sacctmgr and sacct through a Runner: every command Slurm's
// accounting is changed or read with. Names are checked before any
// command runs.
type Client struct {
	// Runner runs the commands. Required.
	Runner Runner
	// Cluster, if set, scopes every command to one cluster of a
	// multi-cluster slurmdbd (backend_settings.cluster_name).
	Cluster string

	// serial, when set, runs changes one at a time: slurmdbd serialises
	// them anyway, and concurrent ones deadlock in its database and can
	// lose an account just made.
	serial *sync.Mutex
}

// Association is one row of sacctmgr's associations of an account: the
// account's own (User "") or one of its users'.
type Association struct {
	Account    string
	User       string
	Parent     string
	GrpTRESMin map[string]int64 // GrpTRESMins, by TRES name
	QoS        []string
	DefaultQoS string
	Fairshare  string
}

// sacctmgr runs sacctmgr -i -P -n (immediate, parsable, no header) with
// args.
func (c *Client) sacctmgr(ctx context.Context, args ...string) (string, error) {
	if c.serial != nil && !isRead(args) {
		c.serial.Lock()
		defer c.serial.Unlock()
	}
	out, err := c.Runner.Run(ctx, "sacctmgr", append([]string{"-i", "-P", "-n"}, args...)...)
	return string(out), err
}

// cluster returns the cluster condition to add, if any.
func (c *Client) cluster() []string {
	if c.Cluster == "" {
		return nil
	}
	return []string{"cluster=" + c.Cluster}
}

// Associations returns the associations of account: its own first, then
// its users', sorted by user. An account that does not exist has none.
//
//	sacctmgr -i -P -n show assoc where account=<a> format=Account,User,ParentName,GrpTRESMins,QOS,DefaultQOS,Fairshare
func (c *Client) Associations(ctx context.Context, account string) ([]Association, error) {
	if err := CheckAccount(account); err != nil {
		return nil, err
	}
	args := append([]string{"show", "assoc", "where", "account=" + account}, c.cluster()...)
	out, err := c.sacctmgr(ctx, append(args, "format=Account,User,ParentName,GrpTRESMins,QOS,DefaultQOS,Fairshare")...)
	if err != nil {
		return nil, err
	}
	var as []Association
	for _, line := range lines(out) {
		f := strings.Split(line, "|")
		if len(f) < 7 || f[0] != account {
			continue
		}
		a := Association{Account: f[0], User: f[1], Parent: f[2], DefaultQoS: f[5], Fairshare: f[6]}
		if a.GrpTRESMin, err = parseTRESList(f[3]); err != nil {
			return nil, fmt.Errorf("slurm: account %s: GrpTRESMins: %w", account, err)
		}
		if f[4] != "" {
			a.QoS = strings.Split(f[4], ",")
		}
		as = append(as, a)
	}
	slices.SortStableFunc(as, func(x, y Association) int { return strings.Compare(x.User, y.User) })
	return as, nil
}

// AccountInfo is an account as sacctmgr shows it.
type AccountInfo struct {
	Name         string
	Description  string
	Organization string
}

// Account returns the account, or nil when Slurm has none of that name.
//
//	sacctmgr -i -P -n show account where name=<a> format=Account,Description,Organization
func (c *Client) Account(ctx context.Context, name string) (*AccountInfo, error) {
	if err := CheckAccount(name); err != nil {
		return nil, err
	}
	out, err := c.sacctmgr(ctx, "show", "account", "where", "name="+name, "format=Account,Description,Organization")
	if err != nil {
		return nil, err
	}
	for _, line := range lines(out) {
		f := strings.Split(line, "|")
		if len(f) >= 3 && f[0] == name {
			return &AccountInfo{Name: f[0], Description: f[1], Organization: f[2]}, nil
		}
	}
	return nil, nil
}

// AddAccount creates an account under parent, with settings such as
// "GrpTRESMins=cpu=600" on its association. It reports whether it made
// the account: an account that exists already is left as it is.
//
//	sacctmgr -i -P -n add account <a> description=<d> organization=<o> parent=<p> [<k=v>...]
func (c *Client) AddAccount(ctx context.Context, name, parent, description, organization string, set ...string) (bool, error) {
	for _, n := range []string{name, parent} {
		if err := CheckAccount(n); err != nil {
			return false, err
		}
	}
	args := []string{"add", "account", name, "description=" + orDash(text(description)),
		"organization=" + orDash(text(organization)), "parent=" + parent}
	_, err := c.sacctmgr(ctx, append(append(args, set...), c.cluster()...)...)
	if nothingDone(err) {
		return false, nil
	}
	return err == nil, err
}

// RemoveAccount removes an account's user associations and the account.
// A missing account is not an error.
//
//	sacctmgr -i -P -n remove user where account=<a>
//	sacctmgr -i -P -n remove account where name=<a>
func (c *Client) RemoveAccount(ctx context.Context, name string) error {
	if err := CheckAccount(name); err != nil {
		return err
	}
	if _, err := c.sacctmgr(ctx, append([]string{"remove", "user", "where", "account=" + name}, c.cluster()...)...); err != nil && !nothingDone(err) {
		return err
	}
	_, err := c.sacctmgr(ctx, append([]string{"remove", "account", "where", "name=" + name}, c.cluster()...)...)
	if nothingDone(err) {
		return nil
	}
	return err
}

// CancelJobs cancels the account's pending and running jobs, as removing
// an account with active jobs fails.
//
//	scancel --account=<a>
func (c *Client) CancelJobs(ctx context.Context, account string) error {
	if err := CheckAccount(account); err != nil {
		return err
	}
	args := []string{"--account=" + account}
	if c.Cluster != "" {
		args = append(args, "--clusters="+c.Cluster)
	}
	_, err := c.Runner.Run(ctx, "scancel", args...)
	return err
}

// ModifyAccount sets values (such as "GrpTRESMins=cpu=600",
// "fairshare=100", "qos=normal") on the account's association. Settings
// already in place are not an error.
//
//	sacctmgr -i -P -n modify account where name=<a> set <k=v>...
func (c *Client) ModifyAccount(ctx context.Context, name string, set ...string) error {
	if err := CheckAccount(name); err != nil {
		return err
	}
	args := append([]string{"modify", "account", "where", "name=" + name}, c.cluster()...)
	_, err := c.sacctmgr(ctx, append(append(args, "set"), set...)...)
	if nothingDone(err) {
		return nil
	}
	return err
}

// SetQoS makes qos the only and default QoS of the account's users'
// associations and of the account, as pausing, downscaling and restoring
// do. The users' associations would inherit it in slurmdbd, but slurmctld
// can miss the inheritance for one added just before and run its jobs
// under the old QoS; so they are set, first, as sacctmgr refuses an
// account's default QoS that its users' QoS lists lack. That refusal
// exits 0, so the result is read back.
//
//	sacctmgr -i -P -n modify user where account=<a> set qos=<q> defaultqos=<q>
//	sacctmgr -i -P -n modify account where name=<a> set qos=<q> defaultqos=<q>
func (c *Client) SetQoS(ctx context.Context, account, qos string) error {
	if err := CheckQoS(qos); err != nil {
		return err
	}
	if err := CheckAccount(account); err != nil {
		return err
	}
	args := append([]string{"modify", "user", "where", "account=" + account}, c.cluster()...)
	if _, err := c.sacctmgr(ctx, append(args, "set", "qos="+qos, "defaultqos="+qos)...); err != nil && !nothingDone(err) {
		return err
	}
	if err := c.ModifyAccount(ctx, account, "qos="+qos, "defaultqos="+qos); err != nil {
		return err
	}
	as, err := c.Associations(ctx, account)
	if err != nil {
		return err
	}
	for _, a := range as {
		if a.DefaultQoS != qos {
			who := "account " + account
			if a.User != "" {
				who = "user " + a.User + " of " + who
			}
			return fmt.Errorf("slurm: %s kept default QoS %q, not %q", who, a.DefaultQoS, qos)
		}
	}
	return nil
}

// AddUser associates user with account; defaultAccount, if set, is
// passed as the user's DefaultAccount. An existing association is left as
// it is.
//
//	sacctmgr -i -P -n add user <u> account=<a> [defaultaccount=<d>]
func (c *Client) AddUser(ctx context.Context, account, user, defaultAccount string) error {
	if err := CheckAccount(account); err != nil {
		return err
	}
	if err := CheckUser(user); err != nil {
		return err
	}
	args := []string{"add", "user", user, "account=" + account}
	if defaultAccount != "" {
		if err := CheckAccount(defaultAccount); err != nil {
			return err
		}
		args = append(args, "defaultaccount="+defaultAccount)
	}
	_, err := c.sacctmgr(ctx, append(args, c.cluster()...)...)
	if nothingDone(err) {
		return nil
	}
	return err
}

// RemoveUser removes user's association with account. A missing one is
// not an error.
//
//	sacctmgr -i -P -n remove user <u> where account=<a>
func (c *Client) RemoveUser(ctx context.Context, account, user string) error {
	if err := CheckAccount(account); err != nil {
		return err
	}
	if err := CheckUser(user); err != nil {
		return err
	}
	_, err := c.sacctmgr(ctx, append([]string{"remove", "user", user, "where", "account=" + account}, c.cluster()...)...)
	if nothingDone(err) {
		return nil
	}
	return err
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
