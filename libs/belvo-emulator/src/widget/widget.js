/* belvo-emulator widget: placeholder */
