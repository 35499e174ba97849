"""A TCP proxy on 127.0.0.1 that the fault suite controls: drop, stall, half-open."""
import asyncio
import socket
import threading


class Proxy:
    def __init__(self, target_port):
        self.target_port = target_port
        self.stalled = False
        self.half_open = False
        self.links = set()
        self.loop = asyncio.new_event_loop()
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._sock = sock
        self._ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait()

    def _run(self):
        asyncio.set_event_loop(self.loop)

        async def start():
            await asyncio.start_server(self._serve, sock=self._sock)
            self._ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    async def _pipe(self, reader, writer, to_client, link):
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                while self.stalled:
                    await asyncio.sleep(0.01)
                if to_client and self.half_open:
                    continue  # swallow replies: the client waits, the server thinks all is well
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if not self.half_open:
                for w in link:
                    w.close()

    async def _serve(self, client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_writer.close()
            return
        link = (client_writer, server_writer)
        self.links.add(link)
        await asyncio.gather(self._pipe(client_reader, server_writer, False, link),
                             self._pipe(server_reader, client_writer, True, link))
        self.links.discard(link)

    def drop(self):
        """Resets every open connection (new ones are accepted)."""
        def close_all():
            for link in list(self.links):
                for w in link:
                    try:
                        w.transport.abort()
                    except Exception:
                        pass
            self.links.clear()
        self.loop.call_soon_threadsafe(close_all)

    def stall(self, on):
        self.stalled = on

    def set_half_open(self, on):
        self.half_open = on
        if not on:
            self.drop()  # connections left half-open are useless: reset them
