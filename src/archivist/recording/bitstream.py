"""Reading a few facts off encoded video frames, without decoding them.

* VP8 (RFC 6386 section 9.1): a keyframe carries its width and height after the start code.
* H.264 (ITU-T H.264 section 7.3.2.1.1): the picture size is in the sequence parameter set
  (SPS), which WebRTC senders put in front of every IDR picture (Annex B byte stream).

Used to write the right picture size in a file's track header; a frame of another size later
(a resolution or orientation change) simply carries its own.
"""

from __future__ import annotations

from collections.abc import Iterator


def vp8_keyframe_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a VP8 keyframe; None for an interframe or a malformed frame."""
    if len(data) < 10 or data[0] & 0x01:  # bit 0 of the frame tag: 0 = keyframe
        return None
    if data[3:6] != b"\x9d\x01\x2a":
        return None
    width = (data[6] | data[7] << 8) & 0x3FFF
    height = (data[8] | data[9] << 8) & 0x3FFF
    return (width, height) if width and height else None


def annexb_nal_units(data: bytes) -> Iterator[bytes]:
    """The NAL units of an Annex B access unit (start codes 00 00 01 / 00 00 00 01)."""
    starts: list[int] = []
    i = 0
    n = len(data)
    while i + 3 <= n:
        if data[i] == 0 and data[i + 1] == 0 and data[i + 2] == 1:
            starts.append(i + 3)
            i += 3
        else:
            i += 1
    for k, start in enumerate(starts):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else n
        unit = data[start:end]
        while unit.endswith(b"\x00"):  # trailing zero of a 4-byte start code
            unit = unit[:-1]
        if unit:
            yield unit


class _Bits:
    def __init__(self, rbsp: bytes) -> None:
        self.data = rbsp
        self.pos = 0

    def bit(self) -> int:
        byte = self.pos >> 3
        if byte >= len(self.data):
            raise ValueError("SPS ends too early")
        value = (self.data[byte] >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return value

    def bits(self, n: int) -> int:
        value = 0
        for _ in range(n):
            value = value << 1 | self.bit()
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("bad Exp-Golomb code")
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self) -> int:
        k = self.ue()
        return (k + 1) // 2 if k & 1 else -(k // 2)


def _rbsp(unit: bytes) -> bytes:
    """Remove emulation prevention bytes (00 00 03 -> 00 00)."""
    out = bytearray()
    zeros = 0
    for b in unit:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def _skip_scaling_list(bits: _Bits, size: int) -> None:
    last, nxt = 8, 8
    for _ in range(size):
        if nxt != 0:
            nxt = (last + bits.se() + 256) % 256
        last = last if nxt == 0 else nxt


def h264_sps_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the first SPS of an Annex B access unit; None without one."""
    for unit in annexb_nal_units(data):
        if unit[0] & 0x1F != 7:
            continue
        try:
            return _parse_sps(_rbsp(unit[1:]))
        except ValueError:
            return None
    return None


def _parse_sps(rbsp: bytes) -> tuple[int, int]:
    bits = _Bits(rbsp)
    profile = bits.bits(8)
    bits.bits(16)  # constraint flags, level
    bits.ue()  # seq_parameter_set_id
    chroma_format = 1
    if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
        chroma_format = bits.ue()
        if chroma_format == 3:
            bits.bit()  # separate_colour_plane_flag
        bits.ue()  # bit_depth_luma_minus8
        bits.ue()  # bit_depth_chroma_minus8
        bits.bit()  # qpprime_y_zero_transform_bypass_flag
        if bits.bit():  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma_format != 3 else 12):
                if bits.bit():
                    _skip_scaling_list(bits, 16 if i < 6 else 64)
    bits.ue()  # log2_max_frame_num_minus4
    poc_type = bits.ue()
    if poc_type == 0:
        bits.ue()
    elif poc_type == 1:
        bits.bit()
        bits.se()
        bits.se()
        for _ in range(bits.ue()):
            bits.se()
    bits.ue()  # max_num_ref_frames
    bits.bit()  # gaps_in_frame_num_value_allowed_flag
    width_mbs = bits.ue() + 1
    height_units = bits.ue() + 1
    frame_mbs_only = bits.bit()
    if not frame_mbs_only:
        bits.bit()  # mb_adaptive_frame_field_flag
    bits.bit()  # direct_8x8_inference_flag
    width = width_mbs * 16
    height = height_units * 16 * (2 - frame_mbs_only)
    if bits.bit():  # frame_cropping_flag
        left, right, top, bottom = bits.ue(), bits.ue(), bits.ue(), bits.ue()
        crop_x = 2 if chroma_format in (1, 2) else 1
        crop_y = (2 if chroma_format == 1 else 1) * (2 - frame_mbs_only)
        width -= (left + right) * crop_x
        height -= (top + bottom) * crop_y
    if width <= 0 or height <= 0:
        raise ValueError("SPS gives an empty picture")
    return width, height


def h264_is_keyframe(data: bytes) -> bool:
    """An IDR picture (NAL type 5) is in the access unit."""
    return any(unit[0] & 0x1F == 5 for unit in annexb_nal_units(data))
