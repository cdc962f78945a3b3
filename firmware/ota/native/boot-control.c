/*
 * vibewatch OTA boot control (XS in C over ESP-IDF's esp_ota_ops.h): what the Moddable SDK's "ota"
 * module lacks: is the running image pending verification, confirm it, roll it back, switch the
 * boot partition without erasing anything (the image was written through "flash" "nextota").
 * Needs CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE=y in the build's sdkconfig (firmware/README.md):
 * without it the bootloader never marks an image pending and rollback cannot happen.
 * Host functions named as firmware/ota/boot-control.ts expects them (native("xs_vwota_...")).
 * Compiled by mcconfig only: not verified here without an ESP32 toolchain (README).
 */
#include "xsmc.h"
#include "xsHost.h"
#include "esp_ota_ops.h"
#include "esp_system.h"

#define VW_OTA_BINDING_VERSION 1

void xs_vwota_version(xsMachine *the)
{
	xsmcSetInteger(xsResult, VW_OTA_BINDING_VERSION);
}

/* bit 0: slot of the running app (ota_0 = 0, ota_1 = 1); bit 1: pending verification */
void xs_vwota_running(xsMachine *the)
{
	const esp_partition_t *running = esp_ota_get_running_partition();
	if (!running)
		xsUnknownError("ota: no running partition");
	int code = (running->subtype == ESP_PARTITION_SUBTYPE_APP_OTA_1) ? 1 : 0;
	esp_ota_img_states_t state;
	if ((ESP_OK == esp_ota_get_state_partition(running, &state)) && (ESP_OTA_IMG_PENDING_VERIFY == state))
		code |= 2;
	xsmcSetInteger(xsResult, code);
}

/* next boot from the other app slot; esp_ota_set_boot_partition verifies the image first */
void xs_vwota_activate_next(xsMachine *the)
{
	const esp_partition_t *next = esp_ota_get_next_update_partition(NULL);
	if (!next)
		xsUnknownError("ota: no update partition");
	esp_err_t err = esp_ota_set_boot_partition(next);
	if (ESP_OK != err)
		xsUnknownError("ota: set boot partition failed (%d)", (int)err);
}

void xs_vwota_mark_valid(xsMachine *the)
{
	esp_err_t err = esp_ota_mark_app_valid_cancel_rollback();
	if (ESP_OK != err)
		xsUnknownError("ota: mark valid failed (%d)", (int)err);
}

/* marks the running image invalid and reboots into the previous one; returns only on failure */
void xs_vwota_roll_back(xsMachine *the)
{
	esp_err_t err = esp_ota_mark_app_invalid_rollback_and_reboot();
	xsUnknownError("ota: rollback failed (%d)", (int)err);
}

void xs_vwota_restart(xsMachine *the)
{
	esp_restart();
}
