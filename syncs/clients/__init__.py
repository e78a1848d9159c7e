"""Clients for the remote systems a source reads from (SFTP servers, APIs).

A client speaks one protocol and turns its transport errors into `SyncFailure`s with the
failure reasons of DESIGN §3; the sources in syncs/sources decide what to fetch.
"""
