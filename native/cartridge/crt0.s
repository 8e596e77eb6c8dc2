@ Start-up code and cartridge header of the pmd-agent test cartridge.
@
@ 0x00       ARM branch over the header (the entry point mGBA jumps to when it
@            skips the BIOS)
@ 0x04-0x9F  logo area: left zero; mGBA's built-in BIOS does not check it
@ 0xA0-0xBF  title, game code, maker, fixed byte 0x96, complement (0xBD,
@            filled in by fixheader.py after linking)

    .section .crt0, "ax"
    .arm
    .global _start
_start:
    b       reset
    .fill   156, 1, 0
    .ascii  "PMD-AGENT"         @ title, 12 bytes, NUL padded
    .fill   3, 1, 0
    .ascii  "PMDT"              @ game code
    .ascii  "PA"                @ maker code
    .byte   0x96                @ fixed value
    .byte   0x00                @ unit code
    .byte   0x00                @ device type
    .fill   7, 1, 0             @ reserved
    .byte   0x00                @ software version
    .byte   0x00                @ header complement (fixheader.py)
    .hword  0                   @ reserved

reset:
    @ IRQ-mode stack, then system mode with the user stack; the addresses are
    @ the ones the GBA BIOS uses.
    mov     r0, #0x12
    msr     cpsr_c, r0
    ldr     sp, =0x03007FA0
    mov     r0, #0x1F
    msr     cpsr_c, r0
    ldr     sp, =0x03007F00

    @ copy .data from ROM to IWRAM
    ldr     r0, =__data_load
    ldr     r1, =__data_start
    ldr     r2, =__data_end
1:  cmp     r1, r2
    ldrlo   r3, [r0], #4
    strlo   r3, [r1], #4
    blo     1b

    @ zero .bss
    ldr     r1, =__bss_start
    ldr     r2, =__bss_end
    mov     r3, #0
2:  cmp     r1, r2
    strlo   r3, [r1], #4
    blo     2b

    @ the BIOS calls the user interrupt handler stored at 0x03007FFC
    ldr     r0, =irq_handler
    ldr     r1, =0x03007FFC
    str     r0, [r1]

    ldr     r0, =main
    mov     lr, pc
    bx      r0
3:  b       3b

@ Interrupt handler, entered in ARM mode from the BIOS (which saved r0-r3,
@ r12 and lr). Acknowledges every pending enabled interrupt and reports it
@ in the BIOS flag word at 0x03007FF8 so that VBlankIntrWait returns.
    .arm
    .align 2
irq_handler:
    mov     r3, #0x04000000
    ldr     r2, [r3, #0x200]        @ IE in the low half, IF in the high half
    and     r2, r2, r2, lsr #16     @ enabled and pending
    add     r3, r3, #0x200
    strh    r2, [r3, #2]            @ acknowledge in IF
    ldr     r1, =0x03007FF8
    ldrh    r0, [r1]
    orr     r0, r0, r2
    strh    r0, [r1]
    bx      lr

    .pool
