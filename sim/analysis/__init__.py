"""Closed forms (Young, Daly, job MTBF), analytic estimates of a scenario, memory fit, and fitting incident logs."""
