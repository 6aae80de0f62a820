"""core_service's consumers: the loops (`loop`), what they write (`writers`), and the process
that runs them (`runner`, started by `pulse worker`)."""
