-- wrk script for the sign-in POST: the demo lead's right password with the sign-in page's CSRF
-- cookie and token (bench/run passes them in SIGN_IN_COOKIE and SIGN_IN_BODY). Each answer is a
-- new session (303); the server runs with AQM_BENCH_UNTHROTTLED_SIGN_IN so concurrent sign-ins
-- to one account are not refused as a guessing attack.
wrk.method = "POST"
wrk.body = os.getenv("SIGN_IN_BODY")
wrk.headers["Cookie"] = os.getenv("SIGN_IN_COOKIE")
wrk.headers["Origin"] = os.getenv("SIGN_IN_ORIGIN")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
