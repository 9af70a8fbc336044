"""Carriers place and steer outbound calls: `TelnyxCarrier` over the Telnyx SDK, and a simulated one.

Import an implementation from its own module (`voice.carriers.telnyx`): the SDK is loaded only by whoever uses it.
"""

from voice.carriers.base import Carrier, CarrierError, Dialed

__all__ = ["Carrier", "CarrierError", "Dialed"]
