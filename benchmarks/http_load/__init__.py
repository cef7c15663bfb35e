"""HTTP keep-alive load: aiohttp's hello world under ApacheBench (README.md).

drive.py runs it from the command line, and for `make bench`'s http section
(benchmarks/cases/http.py); server.py is the server, run in its own process.
"""
