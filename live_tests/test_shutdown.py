"""SIGTERM under load: the server stops accepting, answers every request it accepted, and exits 0."""
import re
import threading
import time

import requests

from conftest import Server


def test_sigterm_during_load_answers_every_accepted_request(png):
    server = Server("--workers", "2", "--drain-timeout-s", "60")
    url = server.url + "/v1/score"
    stop = threading.Event()
    lock = threading.Lock()
    outcomes = {"ok": 0, "http_error": [], "connection_error": 0}
    in_flight = [0]
    in_flight_at_signal = []

    def client():
        session = requests.Session()
        while not stop.is_set():
            with lock:
                in_flight[0] += 1
            try:
                response = session.post(url, data=png, headers={"Content-Type": "image/png"}, timeout=120)
                with lock:
                    if response.status_code == 200 and len(response.json()["patches"]) == 1:
                        outcomes["ok"] += 1
                    else:
                        outcomes["http_error"].append(response.status_code)
            except requests.ConnectionError:
                # Refused (listener closed) or an idle keep-alive connection closed by the draining server:
                # the request never reached a handler, which the server's ledger below confirms.
                with lock:
                    outcomes["connection_error"] += 1
                time.sleep(0.05)
            finally:
                with lock:
                    in_flight[0] -= 1

    clients = [threading.Thread(target=client) for _ in range(16)]
    for thread in clients:
        thread.start()
    time.sleep(3)
    with lock:
        in_flight_at_signal.append(in_flight[0])
        ok_before = outcomes["ok"]
    status = server.terminate(timeout=120)
    stop.set()
    for thread in clients:
        thread.join(timeout=120)
    rest = server.process.stdout.read()

    print("in flight at SIGTERM:", in_flight_at_signal[0], "outcomes:", outcomes, rest.strip())
    assert status == 0, "".join(server.stderr_lines[-20:])
    assert in_flight_at_signal[0] > 0 and ok_before > 0
    assert outcomes["http_error"] == []
    received, answered = map(int, re.search(r"stopped; (\d+) requests received, (\d+) answered", rest).groups())
    assert received == answered == outcomes["ok"], (received, answered, outcomes)
    # Afterwards nothing listens.
    try:
        requests.get(server.url + "/healthz", timeout=2)
        raise AssertionError("the server still answers after exiting")
    except requests.ConnectionError:
        pass
