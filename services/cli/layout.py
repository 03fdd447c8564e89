"""How a node's five services are laid out in processes (`--processes` of up and demo).

`each`: a process per service, as Kubernetes runs them (one per pod). `one`: all five in
one process and one event loop (services/cli/host.py), each still its own gRPC service on
its own port. The default is the layout benchmarks/README.md measured to cost less on a
small machine (idle memory and time to healthy) at the same lookup throughput.
"""

PROCESSES = ("one", "each")
DEFAULT_PROCESSES = "one"
