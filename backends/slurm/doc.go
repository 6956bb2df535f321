// Package slurm is a site agent backend for Slurm clusters: each Waldur
// resource of a Slurm offering is a Slurm account, managed with sacctmgr
// and metered with sacct, the way Waldur's reference agent
// (waldur-site-agent) and its Slurm plugin do it, from the same
// configuration file.
//
//	f, err := agentconfig.LoadSiteAgentFile("waldur-site-agent-config.yaml")
//	if err != nil {
//		log.Fatal(err)
//	}
//	o := &f.Offerings[0]
//	backend, warnings, err := slurm.FromOffering(o, slurm.ExecRunner{}, logger)
//	if err != nil {
//		log.Fatal(err)
//	}
//	for _, w := range warnings {
//		logger.Warn(w)
//	}
//	cfg := o.Config
//	backend.Configure(&cfg, o) // Orders, Membership, Usage, ResourceStatus, PeriodicLimits
//	agent, err := siteagent.New(cfg)
//
// # Accounts
//
// A Create order makes the resource's account, allocation_prefix + the
// resource's slug, under its project's account (project_prefix + project
// slug), itself under its customer's (customer_prefix + customer slug)
// below root_account; with parent_account set, project accounts go
// directly under it. A name another resource has is not reused: _2, _3,
// ... are tried, up to backend_id_max_retries. The account's description
// names the Waldur resource, so an order run again finds its account and
// does nothing twice. Update sets limits, Terminate removes the account
// with its user associations (the agent reports the final usage first),
// and Restore makes the account again under its old name.
//
// # Limits and usage
//
// Limits are GrpTRESMins: a limit-based component's Waldur limit ×
// unit_factor, a prepaid ("one") component's also × the months of its
// term, and a usage-based component's configured limit × unit_factor.
// Component types are TRES names (cpu, mem, node, ...), with gpu meaning
// gres/gpu. Usage is read with sacct for the billing month: per account
// and per user, the sum of each job allocation's TRES × run time in
// minutes, divided by unit_factor. One sacct serves every resource of a
// month for Config.UsageCache.
//
// # Membership, pausing, periodic limits
//
// Members are user associations of the account (sacctmgr add user and
// remove user), with DefaultAccount as default_account_policy says.
// Pausing and downscaling switch the account's QoS to qos_paused or
// qos_downscaled, and restoring to qos_default; BackendStatus reads them
// back with the limits. Periodic usage policies (periodic_limits.enabled)
// set fairshare, limits and raw usage resets.
//
// # Commands
//
// Every command runs through a Runner as a program with arguments, never
// a shell: sacctmgr -i -P -n ..., sacct -P -n ... and, before an account
// is removed, scancel --account=<account>. Names are checked
// against the characters Slurm takes as one word before any command is
// built; a failed command is a *CommandError quoting Slurm's message.
// ExecRunner runs the real programs with a timeout; tests record a
// Runner's answers. A Backend runs its changes one at a time: slurmdbd
// serialises them anyway, and concurrent ones deadlock in its database
// and have lost accounts just made. Reads run concurrently.
package slurm
