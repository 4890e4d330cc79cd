from app import native as _native

_native.install()  # the compiled hot modules, when built and current (app/native.py); GATEWAY_NATIVE=false: never
