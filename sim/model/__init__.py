"""The simulation model: failure clocks, cluster and spare pool, the job (states, accounting,
recovery policies), ledger."""
