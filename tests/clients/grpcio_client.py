#!/usr/bin/python3
"""python3-grpcio (Debian) against Portico's native gRPC front door.

The four call kinds, an error with details, metadata both ways, a deadline and a cancel, over
h2c and TLS. No generated code: message classes come from the descriptor set protoc wrote of
tests/protos (google.protobuf message_factory), used through channel.unary_unary(...) & co.
Environment as lib.mjs: PLAIN, TLS, CA_FILE, DESCRIPTOR_SET. Prints "ok   grpcio: <case>" or
"FAIL grpcio: <case>: <why>" per case; exit 0 when all passed.
"""

import os
import sys
import threading
import time

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

PREFIX = "/portico.test.v1.TestService/"
CASE_TIMEOUT_S = 5  # per call: grpcio retries a refused connection until the deadline


def load_messages(path):
    files = descriptor_pb2.FileDescriptorSet.FromString(open(path, "rb").read())
    pool = descriptor_pool.DescriptorPool()
    for f in files.file:  # --include_imports writes dependencies first
        pool.Add(f)
    get_class = getattr(message_factory, "GetMessageClass", None)
    factory = None if get_class else message_factory.MessageFactory(pool)

    def message(name):
        desc = pool.FindMessageTypeByName(name)
        return get_class(desc) if get_class else factory.GetPrototype(desc)

    return message


M = load_messages(os.environ["DESCRIPTOR_SET"])
AllTypes = M("portico.test.v1.AllTypes")
StreamRequest = M("portico.test.v1.StreamRequest")
StreamReply = M("portico.test.v1.StreamReply")
FailRequest = M("portico.test.v1.FailRequest")
Empty = M("google.protobuf.Empty")
SleepRequest = M("portico.test.v1.SleepRequest")
SleepReply = M("portico.test.v1.SleepReply")
MetadataReply = M("portico.test.v1.MetadataReply")
RpcStatus = M("google.rpc.Status")
BadRequest = M("google.rpc.BadRequest")
ErrorInfo = M("google.rpc.ErrorInfo")

passed = 0
failed = 0


def case(name, fn):
    global passed, failed
    started = time.monotonic()
    try:
        fn()
        passed += 1
        print(f"ok   grpcio: {name} ({int((time.monotonic() - started) * 1000)} ms)", flush=True)
    except Exception as e:  # noqa: BLE001 -- any failure of a case is reported, not raised
        failed += 1
        text = str(e).splitlines()[0] if str(e) else type(e).__name__
        if isinstance(e, grpc.RpcError) and hasattr(e, "code"):
            text = f"{e.code()} {e.details()!r}"
        print(f"FAIL grpcio: {name}: {text}", flush=True)


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: got {actual!r}, want {expected!r}")


def expect_status(fn, code, what):
    try:
        fn()
    except grpc.RpcError as e:
        if e.code() != code:
            raise AssertionError(f"{what}: got {e.code()} ({e.details()!r}), want {code}") from None
        return e
    raise AssertionError(f"{what}: succeeded, want {code}")


def stub(channel, kind, method, req, rep):
    return getattr(channel, kind)(PREFIX + method, request_serializer=req.SerializeToString,
                                  response_deserializer=rep.FromString)


def run_channel(label, channel):
    echo = stub(channel, "unary_unary", "Echo", AllTypes, AllTypes)
    server_stream = stub(channel, "unary_stream", "ServerStream", StreamRequest, StreamReply)
    client_stream = stub(channel, "stream_unary", "ClientStream", StreamRequest, StreamReply)
    bidi = stub(channel, "stream_stream", "BidiStream", StreamRequest, StreamReply)
    fail = stub(channel, "unary_unary", "Fail", FailRequest, Empty)
    sleep = stub(channel, "unary_unary", "Sleep", SleepRequest, SleepReply)
    metadata = stub(channel, "unary_unary", "Metadata", Empty, MetadataReply)
    T = CASE_TIMEOUT_S

    def unary():
        req = AllTypes(f_string="héllo", f_int64=9007199254740993, r_string=["x", "y"])
        req.inner.s = "in"
        req.m_int["k"] = 3
        reply = echo(req, timeout=T)
        eq((reply.f_string, reply.f_int64, reply.inner.s, list(reply.r_string), dict(reply.m_int)),
           ("héllo", 9007199254740993, "in", ["x", "y"], {"k": 3}), "reply")

    def server():
        got = [(r.message, r.index) for r in
               server_stream(StreamRequest(message="tick", repeat=3, interval_ms=10), timeout=T)]
        eq(got, [("tick", 0), ("tick", 1), ("tick", 2)], "replies")

    def client():
        reply = client_stream(iter([StreamRequest(message=m) for m in "abc"]), timeout=T)
        eq((reply.message, reply.index), ("a,b,c", 3), "reply")

    def bidi_pingpong():
        # One request per reply: the next request is released only after a reply arrived.
        gate = threading.Semaphore(1)
        done = threading.Event()

        def requests():
            for m in "xyz":
                if not gate.acquire(timeout=T):
                    return
                yield StreamRequest(message=m)
            done.wait(T)

        got = []
        call = bidi(requests(), timeout=T)
        for r in call:
            got.append((r.message, r.index))
            if len(got) == 3:
                done.set()
            gate.release()
        eq(got, [("x", 1), ("y", 2), ("z", 3)], "replies")

    def details():
        e = expect_status(lambda: fail(FailRequest(code=5, message="no such thing", with_details=True),
                                       timeout=T), grpc.StatusCode.NOT_FOUND, "Fail")
        eq(e.details(), "no such thing", "grpc-message")
        raw = [v for k, v in e.trailing_metadata() if k == "grpc-status-details-bin"]
        eq(len(raw), 1, "grpc-status-details-bin values")
        status = RpcStatus.FromString(raw[0])
        eq((status.code, status.message), (5, "no such thing"), "google.rpc.Status")
        bad, info = BadRequest(), ErrorInfo()
        eq(status.details[0].Unpack(bad), True, "details[0] is BadRequest")
        eq(status.details[1].Unpack(info), True, "details[1] is ErrorInfo")
        eq((bad.field_violations[0].field, info.reason), ("name", "TEST_REASON"), "details")

    def meta():
        reply, call = metadata.with_call(
            Empty(), timeout=T, metadata=[("x-client-meta", "v1"), ("x-trace-bin", b"\x01\x02\x03")])
        eq(reply.metadata.get("x-client-meta"), "v1", "x-client-meta as the backend saw it")
        eq(reply.metadata.get("x-trace-bin"), "AQID", "x-trace-bin as the backend saw it")
        eq(dict(call.initial_metadata()).get("x-reply-header"), "h", "initial metadata")
        eq(dict(call.trailing_metadata()).get("x-reply-trailer"), "t", "trailing metadata")

    def deadline():
        eq(sleep(SleepRequest(ms=10), timeout=T).cancelled, False, "a short Sleep first")
        started = time.monotonic()
        expect_status(lambda: sleep(SleepRequest(ms=5000), timeout=0.3),
                      grpc.StatusCode.DEADLINE_EXCEEDED, "Sleep 5 s")
        elapsed = time.monotonic() - started
        if elapsed > 4:
            raise AssertionError(f"deadline took {elapsed:.1f} s")

    def cancel_stream():
        call = server_stream(StreamRequest(message="slow", repeat=50, interval_ms=200), timeout=T)
        first = next(call)
        eq((first.message, first.index), ("slow", 0), "first reply")
        call.cancel()
        expect_status(lambda: next(call), grpc.StatusCode.CANCELLED, "after cancel")

    def cancel_unary():
        future = sleep.future(SleepRequest(ms=5000), timeout=T)
        time.sleep(0.2)
        future.cancel()
        eq(future.cancelled(), True, "cancelled")
        eq(echo(AllTypes(f_string="after"), timeout=T).f_string, "after", "call after the cancel")

    def unknown():
        call = channel.unary_unary("/nope.v1.Nope/Call", request_serializer=Empty.SerializeToString,
                                   response_deserializer=Empty.FromString)
        expect_status(lambda: call(Empty(), timeout=T), grpc.StatusCode.UNIMPLEMENTED, "unknown service")

    for name, fn in [("unary Echo", unary), ("server stream", server), ("client stream", client),
                     ("bidi stream (ping-pong)", bidi_pingpong), ("error with details", details),
                     ("metadata both ways", meta), ("deadline", deadline),
                     ("cancel a server stream", cancel_stream), ("cancel a unary call", cancel_unary),
                     ("unknown service is UNIMPLEMENTED", unknown)]:
        case(f"{label}: {name}", fn)


def main():
    with grpc.insecure_channel(os.environ["PLAIN"]) as channel:
        run_channel("h2c", channel)
    if os.environ.get("TLS"):
        creds = grpc.ssl_channel_credentials(root_certificates=open(os.environ["CA_FILE"], "rb").read())
        with grpc.secure_channel(os.environ["TLS"], creds) as channel:
            run_channel("TLS", channel)
    else:
        global failed
        failed += 1
        print("FAIL grpcio: TLS: not run: Portico with tls did not start (see portico_tls.log)")
    print(f"grpcio: {passed} passed, {failed} failed", flush=True)
    sys.stdout.flush()
    os._exit(0 if failed == 0 and passed > 0 else 1)  # no wait for grpc's threads


if __name__ == "__main__":
    main()
