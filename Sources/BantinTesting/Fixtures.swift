import BantinRPC
