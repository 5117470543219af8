// SPDX-License-Identifier: GPL-2.0-only
/*
 * iios_iio.c - the IIO device: what iio_info, libiio and iiod see
 *
 * A real IIO device registered through the distribution's industrialio:
 * N voltage channels with scan types, a shared sampling_frequency, a
 * kfifo buffer (/dev/iio:deviceX, enabled through scan_elements and
 * buffer/enable as every IIO user knows), and a `block_device` attribute
 * naming the /dev/iio_blockN node of the same ADC.
 *
 * Like a real ADC's driver it also has:
 *  - a trigger of its own, "iiostream-sim-devN" (the "%s-dev%d" name of
 *    IIO drivers' data-ready triggers), that trigger/current_trigger may
 *    select; the device accepts no other trigger (validate_trigger) and
 *    the trigger no other device (validate_device);
 *  - a register file behind debugfs' direct_reg_access
 *    (/sys/kernel/debug/iio/iio:deviceN/), as drivers with
 *    debugfs_reg_access have: an ID register, read-only status registers
 *    and scratch registers.
 */
#include <linux/iio/buffer.h>
#include <linux/iio/buffer_impl.h>	/* an output kfifo's direction */
#include <linux/iio/iio.h>
#include <linux/iio/kfifo_buf.h>
#include <linux/iio/sysfs.h>
#include <linux/iio/trigger.h>
#include <linux/platform_device.h>
#include <linux/math64.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include <iiostream/pattern.h>

#include "iios_sim.h"

/*
 * The register file behind direct_reg_access: 16 32-bit registers. sim: a
 * real ADC's would configure the converter; these only identify the chip,
 * mirror its state and keep what is written to the scratch registers.
 * docs/uapi.md lists them; an address past IIOS_REG_LAST is -EINVAL, a
 * write to a read-only register -EPERM.
 */
enum iios_reg {
	IIOS_REG_ID		= 0x0,	/* RO: IIOS_CHIP_ID */
	IIOS_REG_VERSION	= 0x1,	/* RO: IIOS_REG_MAP_VERSION */
	IIOS_REG_INDEX		= 0x2,	/* RO: which simulated ADC, 0..devices-1 */
	IIOS_REG_CHANNELS	= 0x3,	/* RO: channels of the ADC */
	IIOS_REG_RATE		= 0x4,	/* RO: sampling_frequency, scans/s */
	IIOS_REG_STATUS		= 0x5,	/* RO: IIOS_STATUS_* */
	/* 0x6, 0x7: reserved, read 0 */
	IIOS_REG_SCRATCH0	= 0x8,	/* RW: 0x8..0xf keep what is written */
	IIOS_REG_LAST		= 0xf,
};
#define IIOS_CHIP_ID		0x494f5353	/* "IOSS" in ASCII */
#define IIOS_REG_MAP_VERSION	0x00010000	/* 1.0 */
#define IIOS_STATUS_BLOCK_ON	BIT(0)		/* the block path captures */
#define IIOS_STATUS_FIFO_ON	BIT(1)		/* the kfifo path captures */
#define IIOS_NSCRATCH		(IIOS_REG_LAST - IIOS_REG_SCRATCH0 + 1)

/* iio_priv() of our IIO device: the way back to the ADC. */
struct iios_iio_priv {
	struct iios_dev *sd;
	u64 t_probe_ns;	/* in_voltageN_raw samples the pattern since probe */
	/* The kfifo's scan: the enabled elements as the IIO core lays them
	 * out (its scan_bytes), set at postenable under gen_lock; one scan is
	 * built in scan_buf (room for every element) and pushed. */
	struct iios_scan_layout fifo_layout;
	u8 *scan_buf;
	struct iio_trigger *trig;	/* ours: the only one we accept */
	struct iio_buffer *fifo;	/* DAC: the output kfifo */
	u32 index;			/* the platform device's id */
	u32 scratch[IIOS_NSCRATCH];	/* under sd->gen_lock */
};

static const struct iio_chan_spec iios_chan_template = {
	.type = IIO_VOLTAGE,
	.indexed = 1,
	/* in_voltageN_raw: the sample the ADC would convert right now */
	.info_mask_separate = BIT(IIO_CHAN_INFO_RAW),
	/* in_voltage_scale: mV per LSB; sim: +-1 V full scale */
	.info_mask_shared_by_type = BIT(IIO_CHAN_INFO_SCALE),
	/* sampling_frequency: one rate for all channels, in Hz */
	.info_mask_shared_by_all = BIT(IIO_CHAN_INFO_SAMP_FREQ),
	/* .scan_type: format= (iios_chan_set_scan_type()); le:s16/16>>0 by
	 * default, one int16 per channel per scan, as pattern.h writes it */
};

/* @ch's scan_type from an iiostream/scan.h type (the struct has no name
 * of its own before Linux 6.10): the sign letter upper case when the spare
 * storage bits are defined ('S': sign extension). */
static void iios_chan_set_scan_type(struct iio_chan_spec *ch, const struct iios_scan_type *t)
{
	ch->scan_type.sign = t->is_signed ? (t->fully_defined ? 'S' : 's')
					  : (t->fully_defined ? 'U' : 'u');
	ch->scan_type.realbits = t->bits;		/* bits carrying the sample */
	ch->scan_type.storagebits = t->storage_bits;	/* its word in the scan */
	ch->scan_type.shift = t->shift;		/* how far up the word it sits */
	ch->scan_type.repeat = t->repeat > 1 ? t->repeat : 0;
	ch->scan_type.endianness = t->big_endian ? IIO_BE : IIO_LE;
}

/*
 * The channel specs of a device: room for @room of them (devm, freed with
 * @parent), the first sd->channels made from @tmpl with their scan index
 * and format= type. NULL when out of memory.
 */
static struct iio_chan_spec *iios_chans_alloc(struct iios_dev *sd, struct device *parent,
					      unsigned int room,
					      const struct iio_chan_spec *tmpl)
{
	struct iio_chan_spec *chans;
	unsigned int c;

	chans = devm_kcalloc(parent, room, sizeof(*chans), GFP_KERNEL);
	if (!chans)
		return NULL;
	for (c = 0; c < sd->channels; c++) {
		chans[c] = *tmpl;
		chans[c].channel = c;
		chans[c].scan_index = c;
		iios_chan_set_scan_type(&chans[c], &sd->types[c]);
	}
	return chans;
}

/* IIO's timestamp channel, after the voltage channels: the scan's ideal
 * capture time in ns, le:s64/64>>0 (iiostream/scan.h fills it). */
static struct iio_chan_spec iios_timestamp_chan(unsigned int scan_index)
{
	struct iio_chan_spec ts = IIO_CHAN_SOFT_TIMESTAMP(scan_index);

	ts.scan_type.endianness = IIO_LE;
	return ts;
}

/* What in_voltageN_raw reads for scan @scan: the pattern's value in the
 * channel's type (the first of its repeats), sign-extended when signed. */
static int iios_raw_value(const struct iios_scan_type *t, u64 scan, unsigned int channel)
{
	u64 v = iios_scan_pattern_value(scan, channel, 0, t->bits);

	if (t->is_signed && t->bits < 64 && (v >> (t->bits - 1)) & 1)
		v |= ~0ull << t->bits;
	return (int)v;
}

static int iios_read_raw(struct iio_dev *indio_dev, struct iio_chan_spec const *chan,
			 int *val, int *val2, long mask)
{
	struct iios_iio_priv *priv = iio_priv(indio_dev);
	struct iios_dev *sd = priv->sd;
	u64 scan;

	switch (mask) {
	case IIO_CHAN_INFO_RAW:
		mutex_lock(&sd->gen_lock);
		scan = iios_gen_scans_since(priv->t_probe_ns, ktime_get_ns(), sd->rate);
		*val = iios_raw_value(&sd->types[chan->channel], scan, chan->channel);
		mutex_unlock(&sd->gen_lock);
		return IIO_VAL_INT;
	case IIO_CHAN_INFO_SCALE:
		*val = 1000;	/* mV over 2^(bits - 1) LSB (2^15 for s16) */
		*val2 = sd->types[0].bits - sd->types[0].is_signed;
		return IIO_VAL_FRACTIONAL_LOG2;
	case IIO_CHAN_INFO_SAMP_FREQ:
		mutex_lock(&sd->gen_lock);
		*val = sd->rate;
		mutex_unlock(&sd->gen_lock);
		return IIO_VAL_INT;
	}
	return -EINVAL;
}

static int iios_write_raw(struct iio_dev *indio_dev, struct iio_chan_spec const *chan,
			  int val, int val2, long mask)
{
	struct iios_iio_priv *priv = iio_priv(indio_dev);
	struct iios_dev *sd = priv->sd;

	if (mask != IIO_CHAN_INFO_SAMP_FREQ)
		return -EINVAL;
	/* whole Hz only, within the simulated converter's range */
	if (val2 != 0 || val < IIOS_MIN_RATE || val > IIOS_MAX_RATE)
		return -EINVAL;
	/* the pacing and the timestamps of a running stream depend on it:
	 * -EBUSY while one runs; with the DAC's loopback on, both devices
	 * take the rate (one sample clock) */
	return iios_dac_set_rate(sd, val);
}

static int iios_write_raw_get_fmt(struct iio_dev *indio_dev, struct iio_chan_spec const *chan,
				  long mask)
{
	return IIO_VAL_INT;
}

static ssize_t block_device_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct iios_iio_priv *priv = iio_priv(dev_to_iio_dev(dev));

	return sysfs_emit(buf, "%s\n", dev_name(&priv->sd->dev));
}
static IIO_DEVICE_ATTR_RO(block_device, 0);

static ssize_t fifo_lost_samples_show(struct device *dev, struct device_attribute *attr,
				      char *buf)
{
	struct iios_iio_priv *priv = iio_priv(dev_to_iio_dev(dev));
	u64 lost;

	mutex_lock(&priv->sd->gen_lock);
	lost = priv->sd->fifo_lost;
	mutex_unlock(&priv->sd->gen_lock);
	return sysfs_emit(buf, "%llu\n", lost);
}
static IIO_DEVICE_ATTR_RO(fifo_lost_samples, 0);

static struct attribute *iios_iio_attrs[] = {
	&iio_dev_attr_block_device.dev_attr.attr,	/* "iio_blockN" */
	&iio_dev_attr_fifo_lost_samples.dev_attr.attr,	/* scans the kfifo had no room for */
	NULL,
};

static const struct attribute_group iios_iio_attr_group = {
	.attrs = iios_iio_attrs,
};

/*
 * direct_reg_access: the IIO core calls this with @readval to read
 * register @reg, and with @readval NULL to write @writeval to it.
 */
static int iios_debugfs_reg_access(struct iio_dev *indio_dev, unsigned int reg,
				   unsigned int writeval, unsigned int *readval)
{
	struct iios_iio_priv *priv = iio_priv(indio_dev);
	struct iios_dev *sd = priv->sd;
	int ret = 0;

	if (reg > IIOS_REG_LAST)
		return -EINVAL;
	mutex_lock(&sd->gen_lock);
	if (!readval) {
		if (reg >= IIOS_REG_SCRATCH0)
			priv->scratch[reg - IIOS_REG_SCRATCH0] = writeval;
		else
			ret = -EPERM;	/* sim: a read-only register */
		goto out;
	}
	switch (reg) {
	case IIOS_REG_ID:
		*readval = IIOS_CHIP_ID;
		break;
	case IIOS_REG_VERSION:
		*readval = IIOS_REG_MAP_VERSION;
		break;
	case IIOS_REG_INDEX:
		*readval = priv->index;
		break;
	case IIOS_REG_CHANNELS:
		*readval = sd->channels;
		break;
	case IIOS_REG_RATE:
		*readval = sd->rate;
		break;
	case IIOS_REG_STATUS:
		*readval = (sd->blk_stream.on ? IIOS_STATUS_BLOCK_ON : 0) |
			   (sd->fifo_stream.on ? IIOS_STATUS_FIFO_ON : 0);
		break;
	default:
		*readval = reg >= IIOS_REG_SCRATCH0 ? priv->scratch[reg - IIOS_REG_SCRATCH0] : 0;
		break;
	}
out:
	mutex_unlock(&sd->gen_lock);
	return ret;
}

/* trigger/current_trigger accepts our own trigger and no other. */
static int iios_validate_trigger(struct iio_dev *indio_dev, struct iio_trigger *trig)
{
	struct iios_iio_priv *priv = iio_priv(indio_dev);

	return trig == priv->trig ? 0 : -EINVAL;
}

static const struct iio_info iios_iio_info = {
	.read_raw = iios_read_raw,
	.write_raw = iios_write_raw,
	.write_raw_get_fmt = iios_write_raw_get_fmt,
	.attrs = &iios_iio_attr_group,
	.validate_trigger = iios_validate_trigger,
	.debugfs_reg_access = iios_debugfs_reg_access,
};

/*
 * The ADC's trigger, and the only device it may be the trigger of.
 * sim: on a board this is the converter's data-ready or conversion clock.
 * Here the generator's own timer clocks both paths (iios_gen.c), so the
 * trigger names that clock: selecting it or not changes no data, and it
 * never fires (the device is INDIO_HARDWARE_TRIGGERED: its data does not
 * go through a trigger's poll functions).
 */
static const struct iio_trigger_ops iios_trigger_ops = {
	.validate_device = iio_trigger_validate_own_device,
};

static int iios_trigger_setup(struct iio_dev *indio_dev, struct device *parent)
{
	struct iios_iio_priv *priv = iio_priv(indio_dev);
	struct iio_trigger *trig;

	/* devm: unregistered, then freed, after remove() or a failed probe */
	trig = devm_iio_trigger_alloc(parent, "%s-dev%d", indio_dev->name,
				      iio_device_id(indio_dev));
	if (!trig)
		return -ENOMEM;
	trig->ops = &iios_trigger_ops;
	iio_trigger_set_drvdata(trig, indio_dev);
	priv->trig = trig;
	/*
	 * Not made the current trigger here: indio_dev->trig holds a
	 * reference on the trigger's module, which is this one, and the
	 * module could not be unloaded until userspace cleared it.
	 */
	return devm_iio_trigger_register(parent, trig);
}

/*
 * The setup ops are the device's, not a buffer's: they also run when
 * buffer1 (DMABUF, Linux 6.11+) is the one enabled. The kfifo is buffer0,
 * indio_dev->buffer; enabled means on the core's list of active buffers.
 */
static bool iios_fifo_enabled(struct iio_dev *indio_dev)
{
	return !list_empty(&indio_dev->buffer->buffer_list);
}

/* buffer/enable = 1: remember the scan layout, start the kfifo stream. */
static int iios_fifo_postenable(struct iio_dev *indio_dev)
{
	struct iios_iio_priv *priv = iio_priv(indio_dev);
	struct iios_dev *sd = priv->sd;
	unsigned long mask = indio_dev->active_scan_mask[0];
	int ret;

	if (!iios_fifo_enabled(indio_dev))
		return 0;

	/* the IIO core keeps the timestamp out of the scan mask: its _en is
	 * scan_timestamp; at most IIOS_MAX_CHANNELS + 1 bits, one word */
	if (sd->ts_index >= 0 && indio_dev->scan_timestamp)
		mask |= BIT(sd->ts_index);
	mutex_lock(&sd->gen_lock);
	ret = iios_scan_layout_from_mask(&priv->fifo_layout, sd->types, sd->elements, mask,
					 sd->ts_index);
	if (!ret && WARN_ON(priv->fifo_layout.scan_bytes != indio_dev->scan_bytes))
		ret = -EINVAL;	/* the IIO core laid the scan out otherwise */
	if (!ret)
		iios_gen_enable(sd, &sd->fifo_stream);
	mutex_unlock(&sd->gen_lock);
	return ret;
}

static int iios_fifo_predisable(struct iio_dev *indio_dev)
{
	struct iios_iio_priv *priv = iio_priv(indio_dev);

	mutex_lock(&priv->sd->gen_lock);
	iios_gen_disable(priv->sd, &priv->sd->fifo_stream);
	mutex_unlock(&priv->sd->gen_lock);
	return 0;
}

static const struct iio_buffer_setup_ops iios_fifo_setup_ops = {
	.postenable = iios_fifo_postenable,
	.predisable = iios_fifo_predisable,
};

/*
 * Caller holds gen_lock. Push scans @first.. into the kfifo, one scan of
 * the enabled channels at a time (the only granularity the IIO core's
 * push API has); a full kfifo drops the scan and counts it.
 */
void iios_iio_push(struct iios_dev *sd, u64 first, u64 scans)
{
	struct iios_iio_priv *priv = iio_priv(sd->indio_dev);
	struct iios_scan_clock clk = { .t0_ns = sd->fifo_stream.t0_ns, .n0 = 0,
				       .rate = sd->rate };
	u64 i;

	for (i = 0; i < scans; i++) {
		iios_scan_fill(&priv->fifo_layout, priv->scan_buf, first + i, 1, &clk);
		if (iio_push_to_buffers(sd->indio_dev, priv->scan_buf))
			sd->fifo_lost++;
	}
}

/* Allocate and describe the IIO device; registered later. */
int iios_iio_setup(struct iios_dev *sd, struct device *parent)
{
	struct iios_iio_priv *priv;
	struct iio_chan_spec *chans;
	struct iio_dev *indio_dev;
	int ret;

	indio_dev = devm_iio_device_alloc(parent, sizeof(*priv));
	if (!indio_dev)
		return -ENOMEM;
	chans = iios_chans_alloc(sd, parent, sd->elements, &iios_chan_template);
	if (!chans)
		return -ENOMEM;
	if (sd->ts_index >= 0)
		chans[sd->ts_index] = iios_timestamp_chan(sd->ts_index);

	priv = iio_priv(indio_dev);
	priv->sd = sd;
	/* a scan of every element is the longest the kfifo takes */
	ret = iios_scan_layout_from_mask(&priv->fifo_layout, sd->types, sd->elements,
					 GENMASK_ULL(sd->elements - 1, 0), sd->ts_index);
	if (ret)
		return ret;
	priv->scan_buf = devm_kzalloc(parent, priv->fifo_layout.scan_bytes, GFP_KERNEL);
	if (!priv->scan_buf)
		return -ENOMEM;
	priv->t_probe_ns = ktime_get_ns();
	if (dev_is_platform(parent))
		priv->index = to_platform_device(parent)->id;
	indio_dev->name = IIOS_DRV_NAME;
	indio_dev->info = &iios_iio_info;
	indio_dev->channels = chans;
	indio_dev->num_channels = sd->elements;
	/*
	 * HARDWARE_TRIGGERED gives the device trigger/current_trigger
	 * without the poll functions of a triggered buffer: the kfifo's mode
	 * stays INDIO_BUFFER_SOFTWARE, with or without a current trigger.
	 */
	indio_dev->modes = INDIO_DIRECT_MODE | INDIO_HARDWARE_TRIGGERED;

	ret = iios_trigger_setup(indio_dev, parent);
	if (ret)
		return ret;

	/* kfifo_buf adds INDIO_BUFFER_SOFTWARE and the buffer/ directory */
	ret = devm_iio_kfifo_buffer_setup(parent, indio_dev, &iios_fifo_setup_ops);
	if (ret)
		return ret;
	/* buffer1: mainline's DMABUF interface, on kernels that have it */
	ret = iios_dmabuf_setup(sd, indio_dev, parent);
	if (ret)
		return ret;
	sd->indio_dev = indio_dev;
	return 0;
}

/* ---- the DAC's IIO device (dac=1) ---- */

static const struct iio_chan_spec iios_dac_chan_template = {
	.type = IIO_VOLTAGE,
	.indexed = 1,
	.output = 1,	/* out_voltageN_*: libiio lists it as an output channel */
	/* out_voltageN_raw: the sample the block path plays right now (read
	 * only: the DAC plays blocks or its kfifo, a write is -EINVAL) */
	.info_mask_separate = BIT(IIO_CHAN_INFO_RAW),
	/* out_voltage_scale: mV per LSB, as the ADC's */
	.info_mask_shared_by_type = BIT(IIO_CHAN_INFO_SCALE),
	/* sampling_frequency: scans played per second */
	.info_mask_shared_by_all = BIT(IIO_CHAN_INFO_SAMP_FREQ),
};

/* What channel @channel plays now: its value in the last scan played. */
static int iios_dac_raw(struct iios_dev *sd, unsigned int channel)
{
	const struct iios_scan_layout *l = &sd->blk_layout;
	u32 k;

	for (k = 0; k < l->count; k++)
		if (l->elem[k].index == channel)
			return (int)iios_scan_read(l, sd->dac.last, k, 0);
	return 0;	/* not in channel_mask: plays 0 */
}

static int iios_dac_read_raw(struct iio_dev *indio_dev, struct iio_chan_spec const *chan,
			     int *val, int *val2, long mask)
{
	struct iios_iio_priv *priv = iio_priv(indio_dev);
	struct iios_dev *sd = priv->sd;

	switch (mask) {
	case IIO_CHAN_INFO_RAW:
		mutex_lock(&sd->gen_lock);
		*val = iios_dac_raw(sd, chan->channel);
		mutex_unlock(&sd->gen_lock);
		return IIO_VAL_INT;
	default:
		return iios_read_raw(indio_dev, chan, val, val2, mask);
	}
}

/* loopback: 1 feeds what the DAC plays into the ADC's block path (DAC
 * channel c into ADC channel c, on one sample clock); -EINVAL when the
 * two sampling_frequency differ, -ENODEV when iio:device0's ADC is unbound */
static ssize_t loopback_show(struct device *dev, struct device_attribute *attr, char *buf)
{
	struct iios_iio_priv *priv = iio_priv(dev_to_iio_dev(dev));
	bool on;

	mutex_lock(&priv->sd->gen_lock);
	on = priv->sd->dac.loopback;
	mutex_unlock(&priv->sd->gen_lock);
	return sysfs_emit(buf, "%d\n", on);
}

static ssize_t loopback_store(struct device *dev, struct device_attribute *attr,
			      const char *buf, size_t len)
{
	struct iios_iio_priv *priv = iio_priv(dev_to_iio_dev(dev));
	bool on;
	int ret;

	ret = kstrtobool(buf, &on);
	if (ret)
		return ret;
	ret = iios_dac_set_loopback(priv->sd, on);
	return ret ? ret : len;
}
static IIO_DEVICE_ATTR_RW(loopback, 0);

static ssize_t fifo_underflow_samples_show(struct device *dev, struct device_attribute *attr,
					   char *buf)
{
	return fifo_lost_samples_show(dev, attr, buf);	/* the same counter */
}
static IIO_DEVICE_ATTR_RO(fifo_underflow_samples, 0);

static struct attribute *iios_dac_attrs[] = {
	&iio_dev_attr_block_device.dev_attr.attr,	/* "iio_blockN" */
	&iio_dev_attr_loopback.dev_attr.attr,		/* 0/1 */
	&iio_dev_attr_fifo_underflow_samples.dev_attr.attr, /* kfifo empty when due */
	NULL,
};

/*
 * buffer/enable = 1 of the output kfifo: the DAC plays what is written to
 * /dev/iio:deviceD, one scan per sample period (-EBUSY while the block
 * path plays: one path at a time).
 */
static int iios_dac_fifo_postenable(struct iio_dev *indio_dev)
{
	struct iios_iio_priv *priv = iio_priv(indio_dev);
	struct iios_dev *sd = priv->sd;
	int ret;

	if (!iios_fifo_enabled(indio_dev))
		return 0;	/* buffer1 was enabled */
	mutex_lock(&sd->gen_lock);
	ret = iios_gen_enable(sd, &sd->fifo_stream);
	mutex_unlock(&sd->gen_lock);
	return ret;
}

static const struct iio_buffer_setup_ops iios_dac_fifo_setup_ops = {
	.postenable = iios_dac_fifo_postenable,
	.predisable = iios_fifo_predisable,
};

/*
 * Caller holds gen_lock. Play @scans scans from the output kfifo (sim: the
 * DAC takes one scan per period); an empty kfifo plays silence, counted.
 * What it plays goes nowhere: the loopback carries the block path only.
 */
void iios_iio_pop(struct iios_dev *sd, u64 scans)
{
	struct iios_iio_priv *priv = iio_priv(sd->indio_dev);
	u64 i;

	for (i = 0; i < scans; i++) {
		if (iio_pop_from_buffer(priv->fifo, priv->scan_buf)) {
			sd->fifo_lost += scans - i;	/* empty: the rest is silence */
			break;
		}
	}
}

static void iios_kfifo_put(void *buffer)
{
	iio_kfifo_free(buffer);	/* our reference; the IIO device holds its own */
}

/* An output kfifo: out_ scan elements and buffer/, as a DAC driver has. */
static int iios_dac_fifo_setup(struct iio_dev *indio_dev, struct device *parent)
{
	struct iios_iio_priv *priv = iio_priv(indio_dev);
	struct iio_buffer *buffer;
	int ret;

	buffer = iio_kfifo_allocate();
	if (!buffer)
		return -ENOMEM;
	ret = devm_add_action_or_reset(parent, iios_kfifo_put, buffer);
	if (ret)
		return ret;
	buffer->direction = IIO_BUFFER_DIRECTION_OUT;
	indio_dev->modes |= INDIO_BUFFER_SOFTWARE;
	indio_dev->setup_ops = &iios_dac_fifo_setup_ops;
	priv->fifo = buffer;
	return iio_device_attach_buffer(indio_dev, buffer);
}

static const struct attribute_group iios_dac_attr_group = {
	.attrs = iios_dac_attrs,
};

static const struct iio_info iios_dac_iio_info = {
	.read_raw = iios_dac_read_raw,
	.write_raw = iios_write_raw,	/* sampling_frequency only */
	.write_raw_get_fmt = iios_write_raw_get_fmt,
	.attrs = &iios_dac_attr_group,
	.debugfs_reg_access = iios_debugfs_reg_access,
};

/*
 * Allocate and describe the DAC's IIO device; registered later. Its data
 * paths: the block node, and an output kfifo (/dev/iio:deviceD, one at a
 * time); no trigger (sim: a DAC fed by DMA, as ADI's AXI DACs are).
 */
int iios_iio_dac_setup(struct iios_dev *sd, struct device *parent)
{
	struct iios_iio_priv *priv;
	struct iio_chan_spec *chans;
	struct iio_dev *indio_dev;
	int ret;

	indio_dev = devm_iio_device_alloc(parent, sizeof(*priv));
	if (!indio_dev)
		return -ENOMEM;
	chans = iios_chans_alloc(sd, parent, sd->channels, &iios_dac_chan_template);
	if (!chans)
		return -ENOMEM;
	priv = iio_priv(indio_dev);
	priv->sd = sd;
	priv->t_probe_ns = ktime_get_ns();
	if (dev_is_platform(parent))
		priv->index = to_platform_device(parent)->id;
	/* one popped scan: at most every element */
	priv->scan_buf = devm_kzalloc(parent, sd->scan_bytes, GFP_KERNEL);
	if (!priv->scan_buf)
		return -ENOMEM;
	indio_dev->name = IIOS_DRV_NAME "-dac";
	indio_dev->info = &iios_dac_iio_info;
	indio_dev->channels = chans;
	indio_dev->num_channels = sd->channels;
	indio_dev->modes = INDIO_DIRECT_MODE;
	ret = iios_dac_fifo_setup(indio_dev, parent);
	if (ret)
		return ret;
	ret = iios_dmabuf_setup(sd, indio_dev, parent);	/* buffer1, 6.11+ */
	if (ret)
		return ret;
	sd->indio_dev = indio_dev;
	return 0;
}

int iios_iio_register(struct iios_dev *sd)
{
	return iio_device_register(sd->indio_dev);
}

/* Disables the kfifo buffer if it was on (predisable runs). */
void iios_iio_unregister(struct iios_dev *sd)
{
	iio_device_unregister(sd->indio_dev);
}
