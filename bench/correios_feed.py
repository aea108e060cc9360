#!/usr/bin/env python3
"""A loopback Correios (SRO REST v1) for the polling benchmark.

Answers the token call and GET /srorastro/v1/objetos?codigosObjetos=...&resultado=T
with a body shaped like the real API (see ../shared/corpus/correios): for each
number, 1 to 4 of a parcel's events (posted, in transit, out for delivery,
delivered), chosen by the number so statuses vary. Prints "port N" once bound.
Loopback only.
"""
import argparse
import json
import os
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

STEPS = [
    ("PO", "01", "2026-11-20T10:15:00", "Objeto postado", "CURITIBA", "PR", "Agência dos Correios"),
    ("RO", "01", "2026-11-21T03:40:12", "Objeto em trânsito - por favor aguarde", "CAJAMAR", "SP", "Centro de Tratamento"),
    ("OEC", "01", "2026-11-22T08:02:51", "Objeto saiu para entrega ao destinatário", "SAO PAULO", "SP", "Centro de Distribuição Domiciliária"),
    ("BDE", "01", "2026-11-22T15:31:07", "Objeto entregue ao destinatário", "SAO PAULO", "SP", "Centro de Distribuição Domiciliária"),
]


def objeto(code):
    n = 1 + zlib.crc32(code.encode()) % len(STEPS)
    eventos = []
    for codigo, tipo, when, text, city, uf, kind in reversed(STEPS[:n]):
        eventos.append({
            "codigo": codigo, "tipo": tipo, "dtHrCriado": when, "descricao": text,
            "unidade": {"codSro": "81000001", "tipo": kind, "endereco": {"cidade": city, "uf": uf, "cep": "01001000",
                                                                       "bairro": "CENTRO", "logradouro": "RUA EXEMPLO"}},
            "unidadeDestino": {"tipo": "Unidade de Distribuição", "endereco": {"cidade": "SAO PAULO", "uf": "SP"}},
            "urlIcone": "/public-resources/img/smile.png",
        })
    return {"codObjeto": code, "tipoPostal": {"sigla": code[:2], "descricao": "ETIQUETA LOGICA SEDEX", "categoria": "SERVICO"},
            "dtPrevista": "2026-11-25T23:59:59", "modalidade": "F", "eventos": eventos}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self.reply(201, {"token": "bench-token", "expiraEm": "2030-01-01T00:00:00", "zoneOffset": "-03:00"})

    def do_GET(self):
        parts = urlsplit(self.path)
        if parts.path != "/srorastro/v1/objetos":
            return self.reply(404, {"msgs": ["no such route"]})
        codes = parse_qs(parts.query).get("codigosObjetos", [])
        self.reply(200, {"objetos": [objeto(c) for c in codes], "quantidade": len(codes), "resultado": "Todos os eventos", "versao": "1.2.0"})

    def reply(self, status, obj):
        payload = json.dumps(obj, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def exit_with_parent():
    # The benchmark may be killed before it can stop us: don't outlive it.
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main():
    threading.Thread(target=exit_with_parent, daemon=True).start()
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.request_queue_size = 256
    print(f"port {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
