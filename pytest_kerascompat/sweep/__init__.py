"""The sweep: the pytest session, the controller, the order cells start in, run directories."""
