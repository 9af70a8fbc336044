"""Telnyx voice: webhook verification and parsing, the call state machine, carriers, the call service.

Arrives with the live-calls issue; the package exists so the layout is whole from the start.
"""
