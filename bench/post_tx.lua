-- wrk script: POST /transactions/new with a fixed small transaction.
wrk.method = "POST"
wrk.body = '{"data": "x"}'
wrk.headers["Content-Type"] = "application/json"
