"""Web Push to residents' browsers (VAPID, aes128gcm), subscribed from the public map."""

from lalert.outputs.webpush.output import WebPushOutput

__all__ = ["WebPushOutput"]
