// SPDX-License-Identifier: GPL-2.0-only
/*
 * iios_core.c - module parameters, the platform driver, probe and remove
 *
 * sim: a real ADC driver binds to a device the firmware describes (device
 * tree, ACPI, SPI). Here the module registers `devices` platform devices of
 * its own and binds to them, so the driver's probe/remove, unbind and
 * rebind are the real code paths:
 *   echo iiostream-sim.0 > /sys/bus/platform/drivers/iiostream-sim/unbind
 */
#include <linux/kernel.h>
#include <linux/mod_devicetable.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/platform_device.h>
#include <linux/version.h>
#include <linux/iio/iio.h>

#include "iios_sim.h"

#define IIOS_MAX_DEVICES 4
#define IIOS_ID_ADC 0
#define IIOS_ID_DAC 1

static unsigned int iios_param_devices = 1;
module_param_named(devices, iios_param_devices, uint, 0444);
MODULE_PARM_DESC(devices, "Simulated ADCs to create, 1..4 (default 1)");

unsigned int iios_param_channels = 2;
module_param_named(channels, iios_param_channels, uint, 0444);
MODULE_PARM_DESC(channels, "Channels per scan, 1..16 (default 2: an I/Q pair)");

static char *iios_param_format;
module_param_named(format, iios_param_format, charp, 0444);
MODULE_PARM_DESC(format,
		 "IIO scan type of every channel, [be|le]:[s|u|S|U]BITS/STORAGE[Xrepeat]>>SHIFT (default le:s16/16>>0; e.g. le:S12/16>>0 as AD9361, be:s24/32>>8 as many SPI ADCs); the samples are iiostream/scan.h's pattern in it");
struct iios_scan_type iios_param_type;	/* format=, parsed at load */

bool iios_param_timestamp;
module_param_named(timestamp, iios_param_timestamp, bool, 0444);
MODULE_PARM_DESC(timestamp,
		 "Add IIO's timestamp channel after the voltage channels: in_timestamp, le:s64/64, each scan's ideal capture time in ns (default 0: none)");

bool iios_param_dac;
module_param_named(dac, iios_param_dac, bool, 0444);
MODULE_PARM_DESC(dac,
		 "Add a simulated DAC, iiostream-sim-dac, after the ADCs: the output direction of the block interface, and a loopback into iio:device0's ADC (default 0: none)");

static unsigned int iios_param_rate = 1000000;
module_param_named(sampling_frequency, iios_param_rate, uint, 0444);
MODULE_PARM_DESC(sampling_frequency,
		 "Initial scans per second, 1..250000000 (default 1000000); change it at run time through the IIO device's sampling_frequency");

unsigned int iios_param_max_block_size = 16 << 20;
module_param_named(max_block_size, iios_param_max_block_size, uint, 0444);
MODULE_PARM_DESC(max_block_size, "Largest block in bytes, 4096..1073741824 (default 16 MiB)");

unsigned long iios_param_max_alloc_bytes = 256 << 20;
module_param_named(max_alloc_bytes, iios_param_max_alloc_bytes, ulong, 0444);
MODULE_PARM_DESC(max_alloc_bytes,
		 "Most block memory one device holds, max_block_size..2147483648 (default 256 MiB)");

unsigned int iios_param_fifo_ms = 100;
module_param_named(fifo_ms, iios_param_fifo_ms, uint, 0444);
MODULE_PARM_DESC(fifo_ms,
		 "The converter's FIFO, in ms of samples, 1..10000 (default 100): how far the capture thread may fall behind (the machine was busy) before the excess is dropped as a counted overflow; a slow emulated guest on a loaded host wants more");

/* blocks_live: blocks not yet freed, in every device; 0 when idle (leak check). */
static int iios_param_get_blocks_live(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", iios_blocks_live());
}

static const struct kernel_param_ops iios_blocks_live_ops = {
	.get = iios_param_get_blocks_live,
};
module_param_cb(blocks_live, &iios_blocks_live_ops, NULL, 0444);
MODULE_PARM_DESC(blocks_live, "Read only: blocks allocated and not yet freed (0 when idle)");

/* The ADCs (iiostream-sim.N), then the DAC (iiostream-sim-dac.0): IIO
 * numbers its devices in this order, so ADC N stays iio:deviceN. */
static struct platform_device *iios_pdevs[IIOS_MAX_DEVICES + 1];

/* A parameter out of range refuses the load with a line saying which. */
static int iios_check_params(void)
{
	if (iios_param_devices < 1 || iios_param_devices > IIOS_MAX_DEVICES) {
		pr_err("iiostream-sim: devices=%u: must be 1..%d\n", iios_param_devices,
		       IIOS_MAX_DEVICES);
		return -EINVAL;
	}
	if (iios_param_channels < 1 || iios_param_channels > IIOS_MAX_CHANNELS) {
		pr_err("iiostream-sim: channels=%u: must be 1..%d\n", iios_param_channels,
		       IIOS_MAX_CHANNELS);
		return -EINVAL;
	}
	iios_param_type = iios_scan_type_s16();
	if (iios_param_format && iios_param_format[0] &&
	    iios_scan_type_parse(iios_param_format, &iios_param_type)) {
		pr_err("iiostream-sim: format=%s: must be an IIO scan type, [be|le]:[s|u|S|U]BITS/STORAGE[Xrepeat]>>SHIFT with STORAGE 8, 16, 32 or 64 and BITS + SHIFT <= STORAGE\n",
		       iios_param_format);
		return -EINVAL;
	}
	if (iios_param_rate < IIOS_MIN_RATE || iios_param_rate > IIOS_MAX_RATE) {
		pr_err("iiostream-sim: sampling_frequency=%u: must be %d..%d\n", iios_param_rate,
		       IIOS_MIN_RATE, IIOS_MAX_RATE);
		return -EINVAL;
	}
	if (iios_param_max_block_size < PAGE_SIZE || iios_param_max_block_size > (1u << 30)) {
		pr_err("iiostream-sim: max_block_size=%u: must be %lu..%u\n",
		       iios_param_max_block_size, PAGE_SIZE, 1u << 30);
		return -EINVAL;
	}
	if (iios_param_max_alloc_bytes < iios_param_max_block_size ||
	    iios_param_max_alloc_bytes > (1ul << 31)) {
		pr_err("iiostream-sim: max_alloc_bytes=%lu: must be max_block_size (%u)..%lu\n",
		       iios_param_max_alloc_bytes, iios_param_max_block_size, 1ul << 31);
		return -EINVAL;
	}
	if (iios_param_fifo_ms < 1 || iios_param_fifo_ms > 10000) {
		pr_err("iiostream-sim: fifo_ms=%u: must be 1..10000\n", iios_param_fifo_ms);
		return -EINVAL;
	}
	return 0;
}

static int iios_probe(struct platform_device *pdev)
{
	char type[IIOS_SCAN_TYPE_STR_MAX];
	struct iios_dev *sd;
	unsigned int c;
	int ret;

	sd = iios_chrdev_create(&pdev->dev);
	if (IS_ERR(sd))
		return PTR_ERR(sd);
	/* the DAC: the ADC's channels and format=, never a timestamp */
	sd->output = platform_get_device_id(pdev)->driver_data == IIOS_ID_DAC;
	sd->channels = iios_param_channels;
	for (c = 0; c < sd->channels; c++)
		sd->types[c] = iios_param_type;
	sd->ts_index = -1;
	if (iios_param_timestamp && !sd->output) {
		sd->ts_index = sd->channels;
		sd->types[sd->ts_index] = iios_scan_type_timestamp();
	}
	sd->elements = sd->channels + (sd->ts_index >= 0);
	iios_blockq_set_mask(sd, GENMASK(sd->elements - 1, 0));
	sd->rate = iios_param_rate;

	if (sd->output) {
		ret = iios_dac_setup(sd);
		if (!ret)
			ret = iios_iio_dac_setup(sd, &pdev->dev);
	} else {
		ret = iios_iio_setup(sd, &pdev->dev);
	}
	if (ret)
		goto err_put;
	sd->iio_id = iio_device_id(sd->indio_dev);
	ret = iios_gen_start(sd);
	if (ret)
		goto err_put;
	ret = iios_chrdev_add(sd);
	if (ret)
		goto err_gen;
	ret = iios_iio_register(sd);
	if (ret)
		goto err_chrdev;
	platform_set_drvdata(pdev, sd);
	/* the loopback pair: the DAC and ADC 0, whichever probes second */
	if (sd->output || pdev->id == 0)
		iios_dac_link(sd);
	iios_scan_type_print(&iios_param_type, type, sizeof(type));
	dev_info(&pdev->dev, "iio:device%d and /dev/iio_block%d: %s, %u channels of %s%s at %u S/s\n",
		 sd->iio_id, sd->iio_id, sd->output ? "DAC" : "ADC", sd->channels, type,
		 sd->ts_index >= 0 ? " and a timestamp" : "", sd->rate);
	return 0;

err_chrdev:
	iios_chrdev_remove(sd);
err_gen:
	iios_gen_stop(sd);
err_put:
	iios_chrdev_put(sd);
	return ret;
}

/*
 * probe() in reverse; open files keep sd until their last close. After
 * we return, devm unregisters and frees the trigger, then the IIO device.
 */
static void iios_remove_dev(struct platform_device *pdev)
{
	struct iios_dev *sd = platform_get_drvdata(pdev);

	iios_dac_unlink(sd);		/* the loopback partner lets go of sd */
	iios_iio_unregister(sd);	/* disables the kfifo stream */
	iios_chrdev_remove(sd);		/* ENODEV from now on, waiters wake */
	iios_gen_stop(sd);
	sd->indio_dev = NULL;		/* devm frees it after we return */
	iios_chrdev_put(sd);
}

/* platform_driver.remove returns void from 6.11 on (Debian's 6.12) */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
static void iios_remove(struct platform_device *pdev)
{
	iios_remove_dev(pdev);
}
#else
static int iios_remove(struct platform_device *pdev)
{
	iios_remove_dev(pdev);
	return 0;
}
#endif

/* One driver for both kinds of device; driver_data says which. */
static const struct platform_device_id iios_ids[] = {
	{ .name = IIOS_DRV_NAME, .driver_data = IIOS_ID_ADC },
	{ .name = IIOS_DRV_NAME "-dac", .driver_data = IIOS_ID_DAC },
	{ }
};

static struct platform_driver iios_driver = {
	.driver = {
		.name = IIOS_DRV_NAME,
	},
	.id_table = iios_ids,
	.probe = iios_probe,
	.remove = iios_remove,
};

static void iios_unregister_devices(void)
{
	int i;

	for (i = IIOS_MAX_DEVICES; i >= 0; i--) {	/* the DAC first */
		if (iios_pdevs[i])
			platform_device_unregister(iios_pdevs[i]);
		iios_pdevs[i] = NULL;
	}
}

static int __init iios_init(void)
{
	unsigned int i;
	int ret;

	ret = iios_check_params();
	if (ret)
		return ret;
	ret = iios_chrdev_init();
	if (ret)
		return ret;
	ret = platform_driver_register(&iios_driver);
	if (ret)
		goto err_chrdev;
	for (i = 0; i < iios_param_devices; i++) {
		struct platform_device *pdev;

		pdev = platform_device_register_simple(IIOS_DRV_NAME, i, NULL, 0);
		if (IS_ERR(pdev)) {
			ret = PTR_ERR(pdev);
			goto err_devices;
		}
		iios_pdevs[i] = pdev;
	}
	if (iios_param_dac) {
		struct platform_device *pdev;

		pdev = platform_device_register_simple(IIOS_DRV_NAME "-dac", 0, NULL, 0);
		if (IS_ERR(pdev)) {
			ret = PTR_ERR(pdev);
			goto err_devices;
		}
		iios_pdevs[IIOS_MAX_DEVICES] = pdev;
	}
	return 0;

err_devices:
	iios_unregister_devices();
	platform_driver_unregister(&iios_driver);
err_chrdev:
	iios_chrdev_exit();
	return ret;
}

static void __exit iios_exit(void)
{
	iios_unregister_devices();
	platform_driver_unregister(&iios_driver);
	iios_dmabuf_exit();	/* the IIO core's last calls into buffer1 */
	iios_chrdev_exit();
	/* every file is closed and every mapping gone, or we would not unload */
	WARN(iios_blocks_live(), "iiostream-sim: %ld blocks leaked\n", iios_blocks_live());
}

module_init(iios_init);
module_exit(iios_exit);

MODULE_DESCRIPTION("Simulated high-rate ADC (and DAC) with the iio_block mmap block interface");
MODULE_AUTHOR("The iiostream developers");
MODULE_LICENSE("GPL");
